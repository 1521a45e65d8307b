/**
 * Bids/s on one bidder core with real Redis, both strategies, with proxy bidding off (plain amounts)
 * and on (every bid carries a max_amount, so the book answers with automatic bids), against a bare
 * Bun.serve that runs the same Lua script with no framework (the ceiling for this machine). Server on
 * core BENCH_SERVER_CORE, wrk on BENCH_LOAD_CORE. Usage: bun bench/bids.ts [--seconds 10] [--connections 1000]
 */
import {
  arg,
  dropPrefix,
  freePort,
  num,
  REDIS_URL,
  SERVER_CORE,
  startPinned,
  stop,
  type WrkResult,
  wrk,
} from "./lib.ts";

const seconds = arg("seconds", 10);
const connections = arg("connections", 1000);
const prefix = `bench_bids_${Date.now().toString(36)}:`;

// Each wrk thread raises its own counter; the two threads interleave, so about half the bids are
// accepted and the rest refused as too low, as with many bidders on one item.
const script = (proxy: boolean) => `local counter = 0
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function request()
  counter = counter + 1
  local cents = counter * 2 + tid
  local body = string.format('{"user_id":"bidder-%d-%d","amount":%d.%02d${proxy ? ',"max_amount":%d.%02d' : ""}}', tid, counter % 1000, math.floor(cents / 100), cents % 100${proxy ? ", math.floor(cents / 100) + 1, cents % 100" : ""})
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
`;

async function run(name: string, cmd: string[], env: Record<string, string>, proxy = false) {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = await startPinned(
    cmd,
    { ...env, LOG_LEVEL: "warn", SHUTDOWN_DRAIN_MS: "0", PORT: String(port), HOST: "127.0.0.1" },
    `${base}/ready`,
    { stdout: "inherit" },
  );
  try {
    const item = `bench-${name.replace(/\W/g, "")}`;
    const created = await fetch(`${base}/api/v1/items`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        item_id: item,
        name: "bench",
        start_price: 0.01,
        ends_at: "2099-01-01T00:00:00Z",
      }),
    });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
    const r = await wrk(`${base}/api/v1/items/${item}/bid`, {
      connections,
      seconds,
      script: script(proxy),
      threads: 2,
    });
    const state = (await (await fetch(`${base}/api/v1/items/${item}`)).json()) as { bid_count: number };
    return { name, ...r, accepted: state.bid_count };
  } finally {
    await stop(proc);
  }
}

const results: (WrkResult & { name: string; accepted: number })[] = [];
const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix };
try {
  results.push(await run("bare Bun.serve + Lua", [process.execPath, "bench/bare-bidder.ts"], env));
  results.push(
    await run("shop lua", [process.execPath, "src/main.ts", "--role", "bidder"], {
      ...env,
      BID_STRATEGY: "lua",
    }),
  );
  results.push(
    await run("shop optimistic", [process.execPath, "src/main.ts", "--role", "bidder"], {
      ...env,
      BID_STRATEGY: "optimistic",
    }),
  );
  for (const strategy of ["lua", "optimistic"]) {
    results.push(
      await run(
        `shop ${strategy} proxy`,
        [process.execPath, "src/main.ts", "--role", "bidder"],
        { ...env, BID_STRATEGY: strategy },
        true,
      ),
    );
  }
} finally {
  await dropPrefix(prefix);
}

const bare = results[0]?.rps ?? Number.NaN;
console.log(`\nbids: ${connections} connections, ${seconds} s, one item, server on core ${SERVER_CORE}`);
console.log("name                      bids/s   accepted/s   p50 ms   p99 ms   refused(409/503)   vs bare");
for (const r of results) {
  console.log(
    `${r.name.padEnd(24)} ${num(r.rps).padStart(8)} ${num(r.accepted / seconds).padStart(12)} ${num(r.p50Ms, 2).padStart(8)} ${num(r.p99Ms, 2).padStart(8)} ${num(r.non2xx).padStart(18)} ${num(r.rps / bare, 2).padStart(9)}`,
  );
}
console.log(
  "seed (issue 6): 14,466 bids/s Lua (p99 70 ms) and 8,733 bids/s optimistic, on four tasks of 0.5 vCPU",
);
