/**
 * Memory figures (issue 16): resident set size (VmRSS from /proc) of a server process, each against a
 * baseline in the same run.
 * - broadcaster: per idle WebSocket at each --connections level (default 10000,50000) beyond the base
 *   with no subscriber, for a bare Bun.serve and then shop (`--role all`); clients in several processes
 *   (--per-client each) on the load core, connecting to 127.0.0.1, 127.0.0.2, … so no destination runs
 *   out of ephemeral ports. A level beyond the hard open-file limit gives way to the largest that fits.
 * - processor: with --concurrency (2000) orders in flight (payment 1000 ms, concurrency ÷ payment time
 *   orders/s offered open loop for --seconds), against a control offered the same with payment 0 ms.
 * - api: after every further --requests-step of GET /products/{id} (wrk, 64 connections) up to
 *   --requests (1,000,000): a leak shows as growth after the first step.
 * Servers run pinned to BENCH_SERVER_CORE with the open-file limit their sockets need.
 *
 *   bun bench/memory.ts [--only ws,processor,api] [--connections 10000,50000] [--per-client 10000]
 *                       [--concurrency 2000] [--seconds 8] [--requests 1000000] [--requests-step 100000]
 */
import { freePort, LOAD_CORE, num, SERVER_CORE, startPinned, stop, wrk } from "./lib.ts";

/** Ephemeral ports per destination address are 32768–60999 by default; stay well under 28k. */
export const PER_ADDRESS = 20_000;

/** VmRSS of a /proc/<pid>/status text, in kB. */
export function rssKb(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error("no VmRSS line in the status text");
  return Number(m[1]);
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Bytes each of `n` connections (or orders) adds to a base RSS, both in kB. */
export const perUnitBytes = (baseKb: number, loadedKb: number, n: number): number =>
  ((loadedKb - baseKb) * 1024) / n;

export interface ClientPlan {
  /** Connections this client process opens. */
  count: number;
  /** Destination address, 127.0.0.x. */
  host: string;
}

/**
 * Client processes that open `from`..`to` connections (connection i goes to address 127.0.0.(1 + i ÷
 * PER_ADDRESS)), at most `perClient` each and never spanning two addresses, so each process has one URL.
 */
export function planClients(from: number, to: number, perClient: number): ClientPlan[] {
  if (!(perClient > 0) || from < 0 || to < from) throw new Error("need 0 <= from <= to and perClient > 0");
  const plans: ClientPlan[] = [];
  for (let i = from; i < to; ) {
    const address = Math.floor(i / PER_ADDRESS);
    if (address > 253) throw new Error(`${to} connections need more than 254 loopback addresses`);
    const count = Math.min(perClient, to - i, (address + 1) * PER_ADDRESS - i);
    plans.push({ count, host: `127.0.0.${address + 1}` });
    i += count;
  }
  return plans;
}

export interface Growth {
  /** kB from the first sample (after the warm-up step) to the last. */
  totalKb: number;
  /** kB per further 100,000 requests over the second half of the samples (least squares). */
  slopeKbPer100k: number;
}

/** How RSS moved with requests served: samples of [requests, rssKb], in order. */
export function growth(samples: [number, number][]): Growth {
  if (samples.length < 2) throw new Error("need at least two samples");
  const first = samples[0] as [number, number];
  const last = samples.at(-1) as [number, number];
  const half = samples.slice(Math.floor(samples.length / 2));
  const mx = half.reduce((a, [x]) => a + x, 0) / half.length;
  const my = half.reduce((a, [, y]) => a + y, 0) / half.length;
  const sxx = half.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = half.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return { totalKb: last[1] - first[1], slopeKbPer100k: sxx === 0 ? 0 : (sxy / sxx) * 100_000 };
}

/** Files a server needs besides its sockets: the runtime, listeners, Redis, logs. */
export const SPARE_FILES = 256;
/** The open-file limit for a process holding `connections` sockets, plus room for everything else. */
export const fileLimit = (connections: number): number => connections + SPARE_FILES;

/** The hard "Max open files" limit of a /proc/<pid>/limits text (Infinity when unlimited). */
export function hardFileLimit(limits: string): number {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) throw new Error("no Max open files line in the limits text");
  return m[2] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[2]);
}

/**
 * The levels a server can hold under a hard open-file limit (unprivileged processes cannot raise it),
 * with the largest reachable level, rounded down to a thousand, in place of the first one beyond it.
 */
export function reachableLevels(levels: number[], hardLimit: number): { levels: number[]; cut: number[] } {
  const max = hardLimit - SPARE_FILES;
  const sorted = [...levels].sort((a, b) => a - b);
  const fit = sorted.filter((l) => l <= max);
  const cut = sorted.filter((l) => l > max);
  const largest = Math.floor(max / 1000) * 1000;
  if (cut.length > 0 && largest > (fit.at(-1) ?? 0)) fit.push(largest);
  return { levels: fit, cut };
}

const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
const readRss = async (pid: number) => rssKb(await Bun.file(`/proc/${pid}/status`).text());
/** The median of `n` RSS samples a second apart: one sample can land mid-collection. */
async function settledRss(pid: number, n = 3): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    await Bun.sleep(1000);
    xs.push(await readRss(pid));
  }
  return median(xs);
}

/** JS heap in use as shop's /metrics reports it (NaN for a server without them): the rest of RSS is native. */
async function jsHeapBytes(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`)
    .then((r) => (r.ok ? r.text() : ""))
    .catch(() => "");
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const numbers = (name: string, fallback: string) =>
  flag(name, fallback)
    .split(",")
    .map((s) => Number(s.replace(/_/g, "")));

/** The server (shop, or `script` with its arguments) on SERVER_CORE with its open-file limit set. */
async function server(args: string[], env: Record<string, string>, files: number, script = ["src/main.ts"]) {
  const port = freePort();
  const proc = await startPinned(
    ["prlimit", `--nofile=${files}:${files}`, process.execPath, ...script, ...args],
    { PORT: String(port), HOST: "127.0.0.1", SHUTDOWN_DRAIN_MS: "0", LOG_LEVEL: "warn", ...env },
    `http://127.0.0.1:${port}/ready`,
  );
  return { proc, port, url: `http://127.0.0.1:${port}` };
}

// ---- client process: `bun bench/memory.ts client URL COUNT` ------------------------------------------

/** Opens COUNT sockets to URL in batches, says `open N` once each has its snapshot, then idles. */
async function client(url: string, count: number): Promise<void> {
  const sockets: WebSocket[] = [];
  let snapshots = 0;
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, () => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        ws.onmessage = () => {
          snapshots++;
          // Idle from here on: the figure is what an idle subscriber costs.
          ws.onmessage = null;
        };
        return new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error(`websocket to ${url} failed after ${sockets.length} opened`));
        });
      }),
    );
  }
  while (snapshots < count) await Bun.sleep(20);
  console.log(`open ${sockets.length}`);
  // Held until the bench kills this process.
  await new Promise(() => {});
}

// ---- the three measurements ------------------------------------------------------------------------

/**
 * The yardstick: a bare Bun.serve that upgrades /ws/items/:id, sends a snapshot frame and keeps each
 * socket in a Set (the least any broadcaster holds), with the same limits shop sets. Run as
 * `bun bench/memory.ts bare-ws` with PORT and HOST.
 */
function bareWebSockets(): void {
  const sockets = new Set<unknown>();
  Bun.serve({
    port: Number(process.env.PORT),
    hostname: process.env.HOST ?? "127.0.0.1",
    fetch(req, srv) {
      const path = new URL(req.url).pathname;
      if (path.startsWith("/ws/items/")) {
        return srv.upgrade(req, { data: undefined }) ? undefined : new Response(null, { status: 426 });
      }
      if (path === "/api/v1/items") return new Response(null, { status: 201 });
      return new Response("ok");
    },
    websocket: {
      backpressureLimit: 1024 * 1024,
      idleTimeout: 20,
      sendPings: true,
      open(ws) {
        sockets.add(ws);
        ws.send('{"type":"snapshot"}');
      },
      close(ws) {
        sockets.delete(ws);
      },
      message() {},
    },
  });
}

/** Per idle socket, the bare server's then shop's (`--role all`), each from its own base. */
async function websockets(wanted: number[], perClient: number): Promise<void> {
  const hard = hardFileLimit(await Bun.file("/proc/self/limits").text());
  const { levels, cut } = reachableLevels(wanted, hard);
  const files = Math.min(hard, fileLimit(Math.max(...levels)));
  console.log(
    `\n== RSS per idle WebSocket (server core ${SERVER_CORE}, clients core ${LOAD_CORE}, up to ${perClient} per client process)`,
  );
  if (cut.length > 0) {
    console.log(
      `   ${cut.map((l) => num(l)).join(", ")}: beyond this machine's hard open-file limit of ${num(hard)} per process ` +
        "(raising it needs CAP_SYS_RESOURCE); measured the largest level that fits instead",
    );
  }
  const bare = await socketLevels(
    "bare Bun.serve",
    await server([], { HOST: "0.0.0.0" }, files, [import.meta.path, "bare-ws"]),
    levels,
    perClient,
  );
  const shop = await socketLevels(
    "shop --role all",
    await server(["--role", "all"], { HOST: "0.0.0.0" }, files),
    levels,
    perClient,
  );
  for (const [level, bytes] of shop) {
    const yardstick = bare.get(level);
    if (yardstick !== undefined) {
      console.log(
        `   ${num(level).padStart(7)}: shop ${num(bytes)} B, bare ${num(yardstick)} B per socket = ${(bytes / yardstick).toFixed(2)} × bare, shop's own ${num(bytes - yardstick)} B (target ≤ 4,096 B)`,
      );
    }
  }
}

/** Opens each level of idle sockets on one server and returns bytes per socket beyond its base. */
async function socketLevels(
  label: string,
  target: Awaited<ReturnType<typeof server>>,
  levels: number[],
  perClient: number,
): Promise<Map<number, number>> {
  const clients: ReturnType<typeof Bun.spawn>[] = [];
  const perSocket = new Map<number, number>();
  try {
    const item = `mem-${Date.now()}`;
    const created = await fetch(`${target.url}/api/v1/items`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ item_id: item, name: item, start_price: 1, ends_at: "2099-01-01T00:00:00Z" }),
    });
    if (created.status !== 201)
      throw new Error(`cannot create item: ${created.status} ${await created.text()}`);
    // Warm the upgrade and broadcaster paths, so the base includes their code, not just the idle server.
    const warm = await runClients(planClients(0, 100, 100), target.port, item);
    for (const p of warm) p.kill("SIGKILL");
    await Promise.all(warm.map((p) => p.exited));
    await Bun.sleep(2000);
    const base = await settledRss(target.proc.pid);
    const baseHeap = await jsHeapBytes(target.url);
    console.log(`   ${label}: base with no subscriber ${mb(base)}`);
    let open = 0;
    let previous = base;
    for (const level of levels) {
      const started = performance.now();
      try {
        clients.push(...(await runClients(planClients(open, level, perClient), target.port, item)));
      } catch (err) {
        console.log(
          `   ${label}: ${num(level)} not reached (${(err as Error).message}); largest reached ${num(open)}`,
        );
        break;
      }
      const rss = await settledRss(target.proc.pid);
      perSocket.set(level, perUnitBytes(base, rss, level));
      // Beyond the first level, what the added sockets cost: the first burst's garbage is already paid.
      const marginal =
        open === 0
          ? ""
          : `; the ${num(level - open)} added: ${num(perUnitBytes(previous, rss, level - open))} B each`;
      const heap = await jsHeapBytes(target.url);
      const js = Number.isNaN(heap) ? "" : `; JS heap in use +${num((heap - baseHeap) / level)} B each`;
      console.log(
        `   ${label}: ${num(level).padStart(7)} idle sockets: RSS ${mb(rss)}, +${mb(rss - base)} = ${num(perUnitBytes(base, rss, level))} B each${marginal}${js} ` +
          `(opened in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      open = level;
      previous = rss;
    }
  } finally {
    for (const p of clients) p.kill("SIGKILL");
    await Promise.all(clients.map((p) => p.exited));
    await stop(target.proc);
  }
  return perSocket;
}

/** Starts one client process per plan and waits until each says every socket is open. */
async function runClients(plans: ClientPlan[], port: number, item: string) {
  const hard = hardFileLimit(await Bun.file("/proc/self/limits").text());
  const procs = plans.map((p) =>
    Bun.spawn(
      [
        "taskset",
        "-c",
        LOAD_CORE,
        "prlimit",
        `--nofile=${Math.min(hard, fileLimit(p.count))}:${Math.min(hard, fileLimit(p.count))}`,
        process.execPath,
        import.meta.path,
        "client",
        `ws://${p.host}:${port}/ws/items/${item}`,
        String(p.count),
      ],
      { stdout: "pipe", stderr: "pipe" },
    ),
  );
  await Promise.all(
    procs.map(async (proc, i) => {
      const reader = proc.stdout.getReader();
      const { value } = await reader.read();
      const line = new TextDecoder().decode(value ?? new Uint8Array());
      if (!line.startsWith(`open ${plans[i]?.count}`)) {
        const err = await new Response(proc.stderr).text();
        throw new Error(`client ${i} (${plans[i]?.host}): ${line.trim() || err.trim().split("\n").at(-1)}`);
      }
    }),
  );
  return procs;
}

interface ProcessorSample {
  rss: number;
  inFlight: number;
  backlog: number;
}

/**
 * One server (`--role all`, in-process queue) offered `rate` async orders/s open loop for `seconds`,
 * sampled every second: RSS, orders in flight, backlog (accepted, not yet taken).
 */
async function offerOrders(
  concurrency: number,
  paymentMs: number,
  rate: number,
  seconds: number,
): Promise<{ base: number; accepted: number; samples: ProcessorSample[] }> {
  const shop = await server(
    ["--role", "all"],
    { PAYMENT_SIM_MS: String(paymentMs), PROCESSOR_CONCURRENCY: String(concurrency) },
    fileLimit(1000),
  );
  try {
    const metric = async (name: string, labels = "") => {
      const text = await (await fetch(`${shop.url}/metrics`)).text();
      const m = new RegExp(`^${name}${labels ? `\\{[^}]*${labels}[^}]*\\}` : ""} (\\S+)$`, "m").exec(text);
      return Number(m?.[1] ?? 0);
    };
    const body = JSON.stringify({ customer_id: 1, items: [{ product_id: 1, quantity: 1, price: 1 }] });
    const send = () =>
      fetch(`${shop.url}/orders/async`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      })
        .then((r) => r.status === 202)
        .catch(() => false);
    // One order first, so the base has every code path loaded.
    await send();
    await Bun.sleep(paymentMs + 1000);
    const base = await settledRss(shop.proc.pid);
    let accepted = 0;
    const samples: ProcessorSample[] = [];
    const start = performance.now();
    const end = start + seconds * 1000;
    const sampler = (async () => {
      while (performance.now() < end) {
        await Bun.sleep(1000);
        const [inFlight, done] = await Promise.all([
          metric("processor_orders_in_flight"),
          metric("processor_messages_total", 'outcome="completed"'),
        ]);
        samples.push({ rss: await readRss(shop.proc.pid), inFlight, backlog: accepted - done - inFlight });
      }
    })();
    // Open loop: every 20 ms, the orders due by now at `rate`, whether or not earlier ones answered.
    const pending: Promise<void>[] = [];
    for (let sent = 0; performance.now() < end; await Bun.sleep(20)) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
      for (let i = 0; i < due; i++) {
        pending.push(
          send().then((ok) => {
            if (ok) accepted++;
          }),
        );
      }
      sent += due;
    }
    await Promise.all(pending);
    await sampler;
    return { base, accepted, samples };
  } finally {
    await stop(shop.proc);
  }
}

/**
 * The processor holding `concurrency` orders in flight (payment 1000 ms) against a control run with
 * the same offered orders and an instant payment (nothing stays in flight): both servers store every
 * order and absorb the same HTTP load, so the difference is what the orders in flight hold.
 */
async function processor(concurrency: number, seconds: number): Promise<void> {
  const paymentMs = 1000;
  const rate = concurrency / (paymentMs / 1000);
  console.log(
    `\n== processor RSS at concurrency ${num(concurrency)} (--role all, in-process queue; ${num(rate)} orders/s offered for ${seconds} s)`,
  );
  const runs: [string, number][] = [
    ["control, payment 0 ms", 0],
    [`payment ${paymentMs} ms`, paymentMs],
  ];
  const steady: number[] = [];
  for (const [label, ms] of runs) {
    const run = await offerOrders(concurrency, ms, rate, seconds);
    // The second half: the slots have filled and the heap has taken the load's shape.
    const tail = run.samples.slice(Math.floor(run.samples.length / 2));
    const rss = median(tail.map((t) => t.rss));
    steady.push(rss);
    console.log(
      `   ${label}: idle ${mb(run.base)}, ${num(run.accepted)} accepted; second half: RSS ${mb(rss)} (median), ` +
        `in flight ${tail.map((t) => num(t.inFlight)).join("/")}, backlog ${tail.map((t) => num(t.backlog)).join("/")}`,
    );
  }
  const [control, loaded] = steady as [number, number];
  console.log(
    `   ${num(concurrency)} in flight hold ${mb(loaded - control)} over the control = ${num(perUnitBytes(control, loaded, concurrency))} B per order in flight`,
  );
}

async function api(total: number, step: number): Promise<void> {
  const shop = await server(["--role", "api"], {}, fileLimit(1000));
  try {
    const products = 1000;
    for (let id = 1; id <= products; id++) {
      const res = await fetch(`${shop.url}/products/${id}/details`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          product_id: id,
          sku: `SKU-${id}`,
          manufacturer: "mem",
          category_id: 1,
          weight: 1,
          some_other_id: 1,
        }),
      });
      if (res.status !== 204) throw new Error(`seeding product ${id}: ${res.status}`);
    }
    const script = `math.randomseed(7)
request = function() return wrk.format("GET", "/products/" .. math.random(1, ${products})) end`;
    const base = await settledRss(shop.proc.pid);
    console.log(
      `\n== api RSS over ${num(total)} requests (--role api, GET /products/{id} over ${products} products, wrk 64 connections)`,
    );
    console.log(`   after start and seeding: ${mb(base)}`);
    const samples: [number, number][] = [];
    let served = 0;
    let errors = 0;
    let seconds = 1;
    while (served < total) {
      const before = served;
      // wrk runs for a time, not a count: size each round from the last one's rate.
      while (served - before < step) {
        const r = await wrk(`${shop.url}/products/1`, { connections: 64, seconds, script });
        served += r.requests;
        errors += r.non2xx + r.socketErrors;
        if (r.rps > 0) seconds = Math.max(1, Math.min(10, Math.round((step - (served - before)) / r.rps)));
      }
      samples.push([served, await settledRss(shop.proc.pid, 2)]);
      console.log(`   ${num(served).padStart(10)} requests: RSS ${mb(samples.at(-1)?.[1] ?? 0)}`);
    }
    const g = growth(samples);
    console.log(
      `   from the first ${num(samples[0]?.[0] ?? 0)} requests to ${num(served)}: ${g.totalKb >= 0 ? "+" : ""}${mb(g.totalKb)}; ` +
        `second half ${g.slopeKbPer100k.toFixed(0)} kB per 100k requests; errors ${errors}`,
    );
  } finally {
    await stop(shop.proc);
  }
}

if (import.meta.main) {
  if (process.argv[2] === "client") {
    await client(process.argv[3] ?? "", Number(process.argv[4]));
  } else if (process.argv[2] === "bare-ws") {
    bareWebSockets();
  } else {
    const only = flag("only", "ws,processor,api").split(",");
    if (only.includes("ws"))
      await websockets(numbers("connections", "10000,50000"), Number(flag("per-client", "10000")));
    if (only.includes("processor"))
      await processor(Number(flag("concurrency", "2000")), Number(flag("seconds", "8")));
    if (only.includes("api"))
      await api(Number(flag("requests", "1000000")), Number(flag("requests-step", "100000")));
  }
}
