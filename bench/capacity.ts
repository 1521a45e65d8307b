/**
 * Capacity per task, and open-loop latency at fixed shares of it (issue 16, items 3 and 4). For each
 * workload, one server process on the server core (`bun src/main.ts`, default logging, memory stores,
 * real Redis for bids):
 *   1. saturation: closed-loop wrk, 64 connections;
 *   2. open loop (bench/lib.ts openLoop) at 50 % and 80 % of it: p50/p99/p99.9 from the intended send time;
 *   3. capacity at the p99 target: the highest offered rate whose p99 stays within the workload's target,
 *      bisected between the best rate that held and the lowest that did not.
 * A role's capacity is its lowest workload's (an api task has to hold its p99 whatever the mix, and
 * request-count autoscaling does not see the mix). With --write, terraform/capacity.json gets the
 * figures and the Terraform autoscaling targets follow (terraform/capacity.ts).
 *
 *   bun run bench:capacity [--seconds 10] [--warmup 2] [--sat-seconds 5] [--steps 2] [--only product,bid] [--write]
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { demoProduct } from "../src/domain/products.ts";
import {
  arg,
  dropPrefix,
  formatOpenLoop,
  formatResult,
  LOAD_CORE,
  num,
  type OpenLoopResult,
  type OpenLoopWorkload,
  openLoop,
  postJson,
  REDIS_URL,
  ROOT,
  SERVER_CORE,
  type Shop,
  startShop,
  wrk,
} from "./lib.ts";

const seconds = arg("seconds", 10);
const warmup = arg("warmup", 2);
const satSeconds = arg("sat-seconds", 5);
const steps = arg("steps", 2);
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? "").split(",") : undefined;
const write = process.argv.includes("--write");
const CONNECTIONS = 64;
const OPEN_CONNECTIONS = 256;

interface Workload {
  name: string;
  role: "api" | "bidder";
  what: string;
  p99TargetMs: number;
  start(): Promise<Shop>;
  /** The closed-loop wrk script for saturation, prepared for `count` requests where each uses something up. */
  saturate(shop: Shop, count: number): Promise<string>;
  /** The open-loop requests for one run of `count` requests. */
  open(shop: Shop, count: number): Promise<OpenLoopWorkload>;
}

const json = (url: string, method: string, body: unknown) =>
  fetch(url, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Carts with one item each, ids contiguous from the first returned; `count` more on every call. */
async function makeCarts(shop: Shop, count: number): Promise<number> {
  const ids: number[] = [];
  let made = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (made < count) {
        made++;
        const cart = (await (
          await json(`${shop.url}/shopping-carts`, "POST", { customer_id: 1 })
        ).json()) as {
          shopping_cart_id: number;
        };
        await json(`${shop.url}/shopping-carts/${cart.shopping_cart_id}/items`, "POST", {
          product_id: 1,
          quantity: 1,
        });
        ids.push(cart.shopping_cart_id);
      }
    }),
  );
  ids.sort((a, b) => a - b);
  const first = ids[0] ?? 0;
  if (ids.some((id, i) => id !== first + i)) throw new Error("cart ids are not contiguous");
  return first;
}

const redisPrefix = `bench_capacity_${Date.now().toString(36)}:`;
let items = 0;
/** A fresh auction per run: bids rise from 0.01 in every run, and a stale item would refuse them all. */
async function newItem(shop: Shop): Promise<string> {
  const id = `cap-${++items}`;
  const res = await json(`${shop.url}/api/v1/items`, "POST", {
    item_id: id,
    name: "capacity",
    start_price: 0.01,
    ends_at: "2099-01-01T00:00:00Z",
  });
  if (res.status !== 201) throw new Error(`create item: ${res.status} ${await res.text()}`);
  return id;
}

const order = { customer_id: 1, items: [{ product_id: "SKU-001", quantity: 2, price: 19.99 }] };

const workloads: Workload[] = [
  {
    name: "product",
    role: "api",
    what: "GET /products/{id}, 10,000 products, memory store",
    p99TargetMs: 5,
    start: async () => {
      const shop = await startShop(["--role", "api"], {});
      for (let id = 1; id <= 10_000; id += 100)
        await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            json(`${shop.url}/products/${id + i}/details`, "POST", demoProduct(id + i)),
          ),
        );
      return shop;
    },
    saturate: async () => `${ROOT}bench/random-product.lua`,
    open: async () => ({ kind: "get", pathPrefix: "/products/", ids: 10_000 }),
  },
  {
    name: "bid",
    role: "bidder",
    what: "POST /api/v1/items/{id}/bid, rising amounts, Lua strategy, real Redis",
    p99TargetMs: 20,
    start: () => startShop(["--role", "bidder"], { REDIS_URL, REDIS_KEY_PREFIX: redisPrefix }),
    saturate: async (shop) => {
      const item = await newItem(shop);
      return `local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"user_id":"bidder-%d","amount":%d.%02d}', counter % 1000, math.floor(counter / 100), counter % 100)
  return wrk.format("POST", "/api/v1/items/${item}/bid", { ["Content-Type"] = "application/json" }, body)
end
`;
    },
    open: async (shop) => ({ kind: "bid", path: `/api/v1/items/${await newItem(shop)}/bid` }),
  },
  {
    name: "checkout",
    role: "api",
    what: "POST /shopping-carts/{id}/checkout, one item per cart, memory stores, payment 0 ms",
    p99TargetMs: 20,
    start: async () => {
      const shop = await startShop(["--role", "all"], { PAYMENT_SIM_MS: "0" });
      await json(`${shop.url}/products/1/details`, "POST", demoProduct(1));
      await json(`${shop.url}/warehouse/stock/1`, "PUT", { quantity: 2_000_000_000, price: 9.99 });
      return shop;
    },
    saturate: async (shop, count) => {
      const first = await makeCarts(shop, count);
      return `local id = ${first - 1}
request = function()
  id = id + 1
  return wrk.format("POST", "/shopping-carts/" .. id .. "/checkout")
end
`;
    },
    open: async (shop, count) => ({
      kind: "post-each",
      pathPrefix: "/shopping-carts/",
      pathSuffix: "/checkout",
      first: await makeCarts(shop, count),
    }),
  },
  {
    name: "async-accept",
    role: "api",
    what: "POST /orders/async into the in-process queue (processor held back)",
    p99TargetMs: 10,
    // One slow payment holds the processor, so this measures accepting only.
    start: () => startShop(["--role", "all"], { PAYMENT_SIM_MS: "600000", PROCESSOR_CONCURRENCY: "1" }),
    saturate: async () => `${postJson(order)}wrk.path = "/orders/async"\n`,
    open: async () => ({ kind: "post", path: "/orders/async", body: JSON.stringify(order) }),
  },
];

interface Row {
  workload: Workload;
  saturation: number;
  at50: OpenLoopResult;
  at80: OpenLoopResult;
  /** Highest offered rate whose p99 held the target, and that run. */
  capacity: number;
  atCapacity: OpenLoopResult | undefined;
}

const held = (w: Workload, r: OpenLoopResult) =>
  r.p99Ms <= w.p99TargetMs && r.unanswered === 0 && (r.statuses["5xx"] ?? 0) === 0;

async function measure(w: Workload): Promise<Row> {
  const shop = await w.start();
  try {
    // Checkout uses up a prepared cart per request: a shorter run, with carts for 20,000/s.
    const satFor = w.name === "checkout" ? Math.min(satSeconds, 3) : satSeconds;
    const sat = await wrk(shop.url, {
      connections: CONNECTIONS,
      seconds: satFor,
      script: await w.saturate(shop, 20_000 * satFor),
      pid: shop.proc.pid,
    });
    // A 4xx under saturation (checkout past its prepared carts) is not served work.
    const saturation = (sat.requests - sat.non2xx) / satFor;
    console.log(`${w.name.padEnd(13)} saturation ${formatResult(sat)}`);
    const run = async (fraction: number) => {
      const rate = Math.max(1, Math.round(saturation * fraction));
      const r = await openLoop(shop.url, {
        rate,
        seconds: seconds + warmup,
        warmupSeconds: warmup,
        connections: OPEN_CONNECTIONS,
        workload: await w.open(shop, Math.round(rate * (seconds + warmup))),
      });
      console.log(
        `${w.name.padEnd(13)} ${String(Math.round(fraction * 100)).padStart(3)} % ${formatOpenLoop(r)}  ${held(w, r) ? "held" : "missed"} p99 <= ${w.p99TargetMs} ms`,
      );
      return r;
    };
    const at50 = await run(0.5);
    const at80 = await run(0.8);
    // Bisect between the best fraction that held and the lowest that missed (saturation always misses).
    const tried = new Map<number, OpenLoopResult>([
      [0.5, at50],
      [0.8, at80],
    ]);
    let lo = 0;
    let hi = 1;
    for (const [f, r] of tried) {
      if (held(w, r)) lo = Math.max(lo, f);
      else hi = Math.min(hi, f);
    }
    for (let i = 0; i < steps && hi - lo > 0.02; i++) {
      const f = lo === 0 ? hi / 2 : (lo + hi) / 2;
      const r = await run(f);
      tried.set(f, r);
      if (held(w, r)) lo = f;
      else hi = f;
    }
    const atCapacity = lo > 0 ? tried.get(lo) : undefined;
    return { workload: w, saturation, at50, at80, capacity: atCapacity?.rate ?? 0, atCapacity };
  } finally {
    await shop.stop();
  }
}

const load = () => (loadavg()[0] ?? 0).toFixed(1);
console.log(
  `capacity: server on core ${SERVER_CORE}, load on core ${LOAD_CORE}; bun ${Bun.version}; ${cpus().length} cores; load average ${load()}; open loop ${seconds} s after ${warmup} s warm-up, ${OPEN_CONNECTIONS} connections`,
);
const rows: Row[] = [];
try {
  for (const w of workloads) if (!only || only.includes(w.name)) rows.push(await measure(w));
} finally {
  await dropPrefix(redisPrefix);
}
console.log(`\nload average at the end ${load()}`);
console.log(
  "| workload | saturation (wrk) | 50 %: p50 / p99 / p99.9 ms | 80 %: p50 / p99 / p99.9 ms | p99 target | req/s per vCPU at target |",
);
console.log("| --- | ---: | --- | --- | ---: | ---: |");
const ms = (r: OpenLoopResult) => `${num(r.p50Ms, 2)} / ${num(r.p99Ms, 2)} / ${num(r.p999Ms, 2)}`;
for (const r of rows)
  console.log(
    `| ${r.workload.name} | ${num(r.saturation)} | ${ms(r.at50)} | ${ms(r.at80)} | ${r.workload.p99TargetMs} ms | ${num(r.capacity)} |`,
  );

if (write) {
  const path = `${ROOT}terraform/capacity.json`;
  const current = JSON.parse(await Bun.file(path).text());
  for (const role of ["api", "bidder"] as const) {
    const mine = rows.filter((r) => r.workload.role === role);
    if (mine.length === 0) continue;
    const limiting = mine.reduce((a, b) => (b.capacity < a.capacity ? b : a));
    if (limiting.capacity <= 0) throw new Error(`${role}: no rate held its p99 target; not writing`);
    current.roles[role] = {
      requestsPerSecondPerVcpu: Math.round(limiting.capacity),
      p99Ms: Number(limiting.atCapacity?.p99Ms.toFixed(2)),
      p99TargetMs: limiting.workload.p99TargetMs,
      benchmark: `bun run bench:capacity --seconds ${seconds}`,
      measured: `${limiting.workload.what}: the highest open-loop rate on one core whose p99 held ${limiting.workload.p99TargetMs} ms (${new Date().toISOString().slice(0, 10)}, load average ${load()} on ${cpus().length} shared cores)${
        mine.length > 1
          ? `; the role's lowest of ${mine.map((r) => `${r.workload.name} ${num(r.capacity)}/s`).join(", ")}`
          : ""
      }`,
    };
  }
  current.source =
    "bun run bench:capacity (bench/capacity.ts): req/s per vCPU per role at its p99 target, open loop, the server alone on one core of the development VM; see docs/benchmarks.md";
  writeFileSync(path, `${JSON.stringify(current, null, 2)}\n`);
  console.log(`wrote ${path}`);
}
