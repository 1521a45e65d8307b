/**
 * The seeds' experiment: 20 clients, each sending orders back to back for BENCH_SECONDS (default 60),
 * against POST /orders/sync and POST /orders/async with the 3 s payment. The seeds measured 19 orders
 * (sync, 29.5 s average wait) versus 3,500+ (async, 33 ms average).
 *   bun bench/sync-vs-async.ts
 */
import { startShop } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const clients = 20;
const order = JSON.stringify({
  customer_id: 1,
  items: [{ product_id: "SKU-001", quantity: 1, price: 19.99 }],
});

async function run(url: string): Promise<{ ok: number; errors: number; meanMs: number; p99Ms: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: order,
        });
        await res.arrayBuffer();
        if (res.ok) latencies.push(performance.now() - started);
        else errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    errors,
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
  };
}

console.log(`\n== seeds' experiment: ${clients} clients × ${seconds} s, PAYMENT_SIM_MS=3000`);
const cases: [string, string, Record<string, string>][] = [
  [
    "sync, PAYMENT_CONCURRENCY=1 (seed-like)",
    "/orders/sync",
    { PAYMENT_CONCURRENCY: "1", SYNC_QUEUE_TIMEOUT_MS: "600000" },
  ],
  ["sync, PAYMENT_CONCURRENCY=20 (default)", "/orders/sync", {}],
  ["async", "/orders/async", {}],
];
for (const [label, path, env] of cases) {
  const shop = await startShop(["--role", "all"], { PAYMENT_SIM_MS: "3000", ...env });
  const r = await run(`${shop.url}${path}`);
  console.log(
    `${label.padEnd(42)} ${String(r.ok).padStart(7)} orders accepted (${(r.ok / seconds).toFixed(1)}/s), mean ${r.meanMs.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, errors ${r.errors}`,
  );
  await shop.stop();
}
console.log("seeds (60 s): sync 19 orders, 29.5 s average wait; async 3,500+ orders, 33 ms average");
