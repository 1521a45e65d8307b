/**
 * Archiver throughput and lag with real Redis and PostgreSQL. Phase 1 fills the stream with
 * --backlog bids and times one archiver (core BENCH_SERVER_CORE) draining it into PostgreSQL. Phase 2
 * appends --rate bids/s for --seconds and reads the archive lag histogram from /metrics.
 * Usage: bun bench/archiver.ts [--backlog 100000] [--rate 10000] [--seconds 10]
 */
import pg from "pg";
import { createClient } from "redis";
import { redisKeys } from "../src/adapters/redis/auctions.ts";
import { arg, DATABASE_URL, dropPrefix, num, REDIS_URL, startShop } from "./lib.ts";

const backlog = arg("backlog", 100_000);
const rate = arg("rate", 10_000);
const seconds = arg("seconds", 10);
const run = `bench_arch_${Date.now().toString(36)}`;
const keys = redisKeys(`${run}:`);
const redis = createClient({ url: REDIS_URL });
await redis.connect();

let seq = 0;
const item = {
  item_id: "bench",
  name: "bench",
  description: null,
  start_price: 1,
  min_increment: 1,
  ends_at: 4e12,
  created_at: Date.now(),
};
async function append(n: number): Promise<void> {
  const multi = redis.multi();
  for (let i = 0; i < n; i++) {
    seq++;
    multi.xAdd(keys.stream, "*", {
      t: "bid",
      item_id: "bench",
      bid_id: crypto.randomUUID(),
      user_id: `u${seq % 1000}`,
      amount: String(seq),
      previous_bid: String(seq - 1),
      ts: String(Date.now()),
      seq: String(seq),
    });
  }
  await multi.execAsPipeline();
}

async function archived(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^archiver_events_total (\d+)/m.exec(text)?.[1] ?? 0);
}

async function lagBuckets(base: string): Promise<[number, number][]> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(/^archiver_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => [
    m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]),
    Number(m[2]),
  ]);
}

try {
  await redis.xAdd(keys.stream, "*", { t: "item", item: JSON.stringify(item) });
  for (let done = 0; done < backlog; done += 5000) await append(Math.min(5000, backlog - done));
  const started = performance.now();
  const shop = await startShop(
    ["--role", "archiver"],
    {
      LOG_LEVEL: "warn",
      REDIS_URL,
      REDIS_KEY_PREFIX: `${run}:`,
      DATABASE_URL,
      DATABASE_SCHEMA: run,
      ARCHIVER_BATCH: "1000",
    },
    { stdout: "inherit" },
  );
  const base = shop.url;
  try {
    const deadline = Date.now() + 300_000;
    while ((await archived(base)) < backlog + 1 && Date.now() < deadline) await Bun.sleep(100);
    const drainS = (performance.now() - started) / 1000;
    console.log(
      `\narchiver backlog: ${num(backlog)} bids in ${num(drainS, 2)} s = ${num(backlog / drainS)} bids/s (incl. start)`,
    );

    const before = await lagBuckets(base);
    const tick = 20;
    const end = Date.now() + seconds * 1000;
    let next = Date.now();
    while (Date.now() < end) {
      await append(Math.round((rate * tick) / 1000));
      next += tick;
      await Bun.sleep(Math.max(0, next - Date.now()));
    }
    const target = seq + 1;
    const lagDeadline = Date.now() + 60_000;
    while ((await archived(base)) < target && Date.now() < lagDeadline) await Bun.sleep(100);
    const after = await lagBuckets(base);
    const counts = after.map(([le, c], i) => [le, c - (before[i]?.[1] ?? 0)] as [number, number]);
    const total = counts.at(-1)?.[1] ?? 0;
    const p = (q: number) => counts.find(([, c]) => c >= q * total)?.[0] ?? Number.NaN;
    console.log(
      `archiver at ${num(rate)} bids/s offered for ${seconds} s: ${num(total)} archived; lag p50 <= ${p(0.5)} s, p99 <= ${p(0.99)} s (histogram bucket bounds)`,
    );
  } finally {
    await shop.stop();
  }
} finally {
  await redis.close();
  await dropPrefix(`${run}:`);
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`);
  await c.end();
}
