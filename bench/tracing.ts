/**
 * What tracing costs on GET /products/{id} (as bench:http: the compiled binary, memory store, 10k products,
 * default logging, 64 connections), in one run and alternating rounds:
 *   base      the binary built from BENCH_BASE_REV (default: where this branch left main), no tracing code
 *   off       this binary, OTEL_EXPORTER_OTLP_ENDPOINT unset
 *   on 1 %    parentbased_traceidratio 0.01, exporting to a sink
 *   on 100 %  every request's spans exported to the sink
 * The sink is an OTLP/HTTP endpoint that reads and discards, pinned to the load core beside wrk. Prints each
 * variant's median round and its server CPU per request (instructions/request with perf, else CPU-s) against
 * base and against off.
 */
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { demoProduct } from "../src/domain/products.ts";
import { formatResult, freePort, LOAD_CORE, ROOT, startPinned, stop, type WrkResult, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const script = `${ROOT}bench/random-product.lua`;
const baseRev =
  process.env.BENCH_BASE_REV ?? (await $`git merge-base HEAD main`.cwd(ROOT).quiet().text()).trim();

const work = mkdtempSync(join(tmpdir(), "shop-bench-tracing-"));
const current = join(work, "shop");
await $`bun scripts/build.ts ${current}`.cwd(ROOT).quiet();
// The base binary from the same dependencies: its sources at baseRev, this checkout's node_modules.
const baseDir = join(work, "base");
await $`mkdir -p ${baseDir} && git archive ${baseRev} | tar -x -C ${baseDir}`.cwd(ROOT).quiet();
symlinkSync(join(ROOT, "node_modules"), join(baseDir, "node_modules"));
const base = join(work, "shop-base");
await $`bun scripts/build.ts ${base}`
  .cwd(baseDir)
  .env({ ...process.env, SHOP_REVISION: baseRev })
  .quiet();

const sinkPort = freePort();
const sink = Bun.spawn(
  [
    "taskset",
    "-c",
    LOAD_CORE,
    process.execPath,
    "-e",
    `Bun.serve({ port: ${sinkPort}, hostname: "127.0.0.1", async fetch(req) { await req.arrayBuffer(); return new Response(null, { status: 200 }); } })`,
  ],
  { stdout: "ignore", stderr: "inherit" },
);
const sinkUrl = `http://127.0.0.1:${sinkPort}`;

const variants: { name: string; binary: string; env: Record<string, string> }[] = [
  { name: "base", binary: base, env: {} },
  { name: "off", binary: current, env: {} },
  {
    name: "on 1 %",
    binary: current,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.01",
    },
  },
  { name: "on 100 %", binary: current, env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } },
];

const servers = [];
try {
  for (const v of variants) {
    const port = freePort();
    const proc = await startPinned(
      [v.binary, "--role", "api"],
      { PORT: String(port), HOST: "127.0.0.1", SHUTDOWN_DRAIN_MS: "0", ...v.env },
      `http://127.0.0.1:${port}/ready`,
    );
    servers.push({ ...v, proc, url: `http://127.0.0.1:${port}`, results: [] as WrkResult[] });
    for (let id = 1; id <= 10_000; id += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fetch(`http://127.0.0.1:${port}/products/${id + i}/details`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(demoProduct(id + i)),
          }),
        ),
      );
    }
  }
  console.log(
    `GET /products/{id}, ${connections} connections, ${seconds}s x ${rounds} rounds, alternating; base ${baseRev.slice(0, 12)}`,
  );
  for (const s of servers) await wrk(s.url, { connections, seconds: 2, script, pid: s.proc.pid });
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const result = await wrk(s.url, { connections, seconds, script, pid: s.proc.pid });
      s.results.push(result);
      console.log(`round ${r + 1} ${s.name.padEnd(9)} ${formatResult(result)}`);
    }
  }
} finally {
  await Promise.all(servers.map((s) => stop(s.proc)));
  sink.kill();
  await $`rm -rf ${work}`.quiet();
}

/** Server cost of one request: instructions when perf measured them, else CPU-µs. */
const cost = (r: WrkResult) =>
  r.instructionsPerRequest ?? (r.perCpuSecond ? 1e6 / r.perCpuSecond : Number.NaN);
/** The round of median cost: on a shared machine req/s swings more than CPU per request. */
const median = (xs: WrkResult[]) => {
  const sorted = [...xs].sort((a, b) => cost(a) - cost(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as WrkResult;
};
const unit = servers[0]?.results[0]?.instructionsPerRequest === undefined ? "CPU-µs/req" : "instr/req";
const [b, off] = servers.map((s) => cost(median(s.results)));
const pct = (x: number, y: number | undefined) =>
  y ? `${((x / y - 1) * 100).toFixed(1).padStart(5)} %` : "n/a";
console.log(`\nmedian round; server cost per request in ${unit}; change against base and against off`);
for (const s of servers) {
  const m = median(s.results);
  const c = cost(m);
  console.log(
    `${s.name.padEnd(9)} ${formatResult(m)}  cost ${c.toFixed(unit === "instr/req" ? 0 : 1).padStart(7)}  vs base ${pct(c, b)}  vs off ${pct(c, off)}`,
  );
}
console.log("targets: off vs base within noise (no measurable cost); on 1 % vs off <= 5 %");
