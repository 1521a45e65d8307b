/**
 * GET /products/{id}: shop (the compiled binary, memory store, 10k products, default logging) against
 * a bare Bun.serve and a plain Hono app returning the same JSON from a Map. Server on one core, wrk on
 * the other, 64 connections, the three servers in alternating rounds so background noise hits them
 * alike. Prints req/s, CPU-µs per request of the server (from /proc; instructions per request where perf
 * counts them), p50/p99 and the ratios shop/bare and shop/hono of this same run.
 *   BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (64);
 *   BENCH_SHOP=source runs `bun src/main.ts` instead of ./shop (no rebuild while iterating);
 *   BENCH_SHOP_ENV='LOG_LEVEL=warn …' adds settings to shop's environment;
 *   BENCH_BASELINE=/path/to/other/shop also runs that binary (another revision), as "baseline", in the
 *   same rounds, for a before/after ratio that the machine's load cannot skew.
 */
import { existsSync } from "node:fs";
import type { Subprocess } from "bun";
import { demoProduct } from "../src/domain/products.ts";
import { formatResult, freePort, ROOT, startPinned, stop, type WrkResult, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const script = `${ROOT}bench/random-product.lua`;
const fromSource = process.env.BENCH_SHOP === "source";
const shopEnv = Object.fromEntries(
  (process.env.BENCH_SHOP_ENV ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);

if (!fromSource && !existsSync(`${ROOT}shop`)) await Bun.$`bun run build`.cwd(ROOT).quiet();

interface Server {
  name: string;
  url: string;
  proc: Subprocess;
  results: WrkResult[];
}

async function start(name: string, cmd: string[], env: Record<string, string>): Promise<Server> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const readyPath = name === "shop" || name === "baseline" ? "/ready" : "/products/1";
  const proc = await startPinned(cmd, { PORT: String(port), ...env }, `${url}${readyPath}`);
  return { name, url, proc, results: [] };
}

const shop = await start(
  "shop",
  fromSource ? [process.execPath, "src/main.ts", "--role", "api"] : ["./shop", "--role", "api"],
  {
    HOST: "127.0.0.1",
    SHUTDOWN_DRAIN_MS: "0",
    ...shopEnv,
  },
);
for (let id = 1; id <= 10_000; id += 100) {
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      fetch(`${shop.url}/products/${id + i}/details`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(demoProduct(id + i)),
      }),
    ),
  );
}
const baselineBinary = process.env.BENCH_BASELINE;
const baseline = baselineBinary
  ? await start("baseline", [baselineBinary, "--role", "api"], {
      HOST: "127.0.0.1",
      SHUTDOWN_DRAIN_MS: "0",
      ...shopEnv,
    })
  : undefined;
for (let id = 1; baseline && id <= 10_000; id += 100) {
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      fetch(`${baseline.url}/products/${id + i}/details`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(demoProduct(id + i)),
      }),
    ),
  );
}
const servers = [
  shop,
  ...(baseline ? [baseline] : []),
  await start("bare", [process.execPath, "bench/bare-server.ts"], {}),
  await start("hono", [process.execPath, "bench/hono-server.ts"], {}),
];

console.log(
  `GET /products/{id}, ${connections} connections, ${seconds}s x ${rounds} rounds, alternating; shop from ${fromSource ? "source" : "./shop"}${
    Object.keys(shopEnv).length ? ` with ${process.env.BENCH_SHOP_ENV}` : ""
  }`,
);
try {
  // Warm every server (JIT) before measuring.
  for (const s of servers) await wrk(s.url, { connections, seconds: 2, script, pid: s.proc.pid });
  for (let r = 0; r < rounds; r++) {
    for (const s of servers)
      s.results.push(await wrk(s.url, { connections, seconds, script, pid: s.proc.pid }));
    console.log(
      `round ${r + 1}: ${servers.map((s) => `${s.name} ${formatResult(s.results[r] as WrkResult)}`).join(" | ")}`,
    );
  }
} finally {
  await Promise.all(servers.map((s) => stop(s.proc)));
}
// The median round of each by CPU per request, the steadier figure: one lucky or unlucky round (other
// work on the machine) does not decide.
const median = (xs: WrkResult[]) => {
  const sorted = [...xs].sort((a, b) => (a.perCpuSecond ?? a.rps) - (b.perCpuSecond ?? b.rps));
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? sorted[0];
};
const s = median(shop.results);
const [b, h] = servers.slice(-2).map((x) => median(x.results));
if (!s || !b || !h) throw new Error("no rounds measured");
for (const x of servers) console.log(`${x.name.padEnd(8)} ${formatResult(median(x.results) as WrkResult)}`);
const ratio = (x: number | undefined, y: number | undefined) => (x && y ? (x / y).toFixed(2) : "n/a");
const bases: [string, WrkResult][] = [
  ["bare", b],
  ["hono", h],
];
if (baseline) bases.push(["baseline", median(baseline.results) as WrkResult]);
for (const [name, base] of bases) {
  console.log(
    `ratio shop/${name}: ${ratio(s.rps, base.rps)} by req/s, ${ratio(s.perCpuSecond, base.perCpuSecond)} by req/CPU-s` +
      (s.instructionsPerRequest === undefined
        ? ""
        : `, ${ratio(base.instructionsPerRequest, s.instructionsPerRequest)} by instructions/request`),
  );
}
// Servers alternate within a round, so a round's ratio compares them under the same background load.
const perRound = (base: Server) => {
  const ratios = shop.results
    .map((r, i) => (r.perCpuSecond ?? 0) / (base.results[i]?.perCpuSecond ?? Number.NaN))
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  return `${(ratios[Math.floor((ratios.length - 1) / 2)] ?? Number.NaN).toFixed(2)} (rounds ${ratios.map((x) => x.toFixed(2)).join(", ")})`;
};
for (const base of servers.slice(1))
  console.log(`ratio shop/${base.name} by req/CPU-s, median of the rounds' own ratios: ${perRound(base)}`);
console.log(`targets: >= 0.80 x bare; shop p99 ${s.p99Ms.toFixed(2)} ms`);
