/**
 * GET /products/{id}: shop (the compiled binary, memory store, 10k products, default logging) against
 * a bare Bun.serve returning the same JSON from a Map. Server on one core, wrk on the other, 64
 * connections. Prints req/s, p50/p99 and the ratio shop/bare measured in this same run.
 */
import { existsSync } from "node:fs";
import { demoProduct } from "../src/domain/products.ts";
import { formatResult, freePort, ROOT, startPinned, stop, type WrkResult, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const script = `${ROOT}bench/random-product.lua`;

if (!existsSync(`${ROOT}shop`)) await Bun.$`bun run build`.cwd(ROOT).quiet();

const shopPort = freePort();
const shop = await startPinned(
  ["./shop", "--role", "api"],
  { PORT: String(shopPort), HOST: "127.0.0.1", SHUTDOWN_DRAIN_MS: "0" },
  `http://127.0.0.1:${shopPort}/ready`,
);
for (let id = 1; id <= 10_000; id += 100) {
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      fetch(`http://127.0.0.1:${shopPort}/products/${id + i}/details`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(demoProduct(id + i)),
      }),
    ),
  );
}
const barePort = freePort();
const bare = await startPinned(
  [process.execPath, "bench/bare-server.ts"],
  { PORT: String(barePort) },
  `http://127.0.0.1:${barePort}/products/1`,
);

console.log(`GET /products/{id}, ${connections} connections, ${seconds}s x ${rounds} rounds, alternating`);
const results = { shop: [] as WrkResult[], bare: [] as WrkResult[] };
try {
  // Warm both (JIT), then alternate so background noise hits both alike.
  await wrk(`http://127.0.0.1:${shopPort}`, { connections, seconds: 2, script, pid: shop.pid });
  await wrk(`http://127.0.0.1:${barePort}`, { connections, seconds: 2, script, pid: bare.pid });
  for (let r = 0; r < rounds; r++) {
    results.shop.push(
      await wrk(`http://127.0.0.1:${shopPort}`, { connections, seconds, script, pid: shop.pid }),
    );
    results.bare.push(
      await wrk(`http://127.0.0.1:${barePort}`, { connections, seconds, script, pid: bare.pid }),
    );
  }
} finally {
  await Promise.all([stop(shop), stop(bare)]);
}
for (let r = 0; r < rounds; r++) {
  const [sr, br] = [results.shop[r], results.bare[r]];
  if (sr && br) console.log(`round ${r + 1}: shop ${formatResult(sr)} | bare ${formatResult(br)}`);
}
// The median round of each: one lucky or unlucky round (other work on the machine) does not decide.
const median = (xs: WrkResult[]) => {
  const sorted = [...xs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? sorted[0];
};
const s = median(results.shop);
const b = median(results.bare);
if (!s || !b) throw new Error("no rounds measured");
console.log(`shop  ${formatResult(s)}`);
console.log(`bare  ${formatResult(b)}`);
const ratio = (x: number | undefined, y: number | undefined) => (x && y ? (x / y).toFixed(2) : "n/a");
console.log(
  `ratio shop/bare: ${ratio(s.rps, b.rps)} by req/s, ${ratio(s.perCpuSecond, b.perCpuSecond)} by req/CPU-s, ` +
    `${ratio(b.instructionsPerRequest, s.instructionsPerRequest)} by instructions/request (target >= 0.80); ` +
    `shop p99 ${s.p99Ms.toFixed(2)} ms (target <= 5)`,
);
