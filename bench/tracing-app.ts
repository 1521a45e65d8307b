/**
 * The CPU one GET /products/{id} costs inside the app (HttpCore.fetch called directly: no sockets, so none
 * of wrk's or the kernel's noise), with tracing off, on with every span dropped by the sampler (what 99 % of
 * requests cost at 1 %), and on recording every request. Each variant in a process of its own, alternating,
 * for this checkout and for BENCH_BASE_REV (default: where this branch left main; its sources measured by this
 * script), so that a change to tracing is compared with what it changes in the same run.
 *
 *   bun bench/tracing-app.ts [requests]
 */
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startShop } from "../src/shop.ts";

const variants: Record<string, Record<string, string>> = {
  off: {},
  "on, not sampled": { OTEL_TRACES_SAMPLER: "always_off" },
  "on, 1 %": { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.01" },
  "on, sampled": { OTEL_TRACES_SAMPLER: "always_on" },
};
const requests = Number(process.argv[2] ?? 200_000);

if (process.argv[2] === "--variant") {
  const name = process.argv[3] ?? "off";
  const n = Number(process.argv[4] ?? 200_000);
  const sink = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (r) => {
      await r.arrayBuffer();
      return new Response();
    },
  });
  const tracing = name === "off" ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}` };
  const shop = await startShop(["api"], {
    env: { PORT: "0", HOST: "127.0.0.1", SHUTDOWN_DRAIN_MS: "0", ...tracing, ...variants[name] },
    write: () => {},
  });
  const http = shop.manager.get("http");
  const body = JSON.stringify({
    product_id: 7,
    sku: "s",
    manufacturer: "m",
    category_id: 1,
    weight: 1,
    some_other_id: 1,
  });
  await http.fetch(
    new Request("http://shop/products/7/details", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }),
  );
  const run = async () => {
    for (let i = 0; i < n; i++) await (await http.fetch(new Request("http://shop/products/7"))).text();
  };
  await run();
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  console.log(((used.user + used.system) / n).toFixed(2));
  process.exit(0);
}

const root = new URL("..", import.meta.url).pathname;
const baseRev =
  process.env.BENCH_BASE_REV ?? (await Bun.$`git merge-base HEAD main`.cwd(root).quiet().text()).trim();
const work = mkdtempSync(join(tmpdir(), "shop-bench-tracing-app-"));
await Bun.$`git archive ${baseRev} | tar -x -C ${work}`.cwd(root).quiet();
symlinkSync(join(root, "node_modules"), join(work, "node_modules"));
copyFileSync(import.meta.path, join(work, "bench", "tracing-app.ts"));
const trees = { this: import.meta.path, base: join(work, "bench", "tracing-app.ts") };

const costs: Record<string, number[]> = {};
try {
  for (let round = 0; round < 3; round++) {
    for (const name of Object.keys(variants)) {
      for (const [tree, script] of Object.entries(trees)) {
        const out = await Bun.$`${process.execPath} ${script} --variant ${name} ${requests}`.quiet().text();
        const key = `${tree} ${name}`;
        const list = costs[key] ?? [];
        list.push(Number(out.trim()));
        costs[key] = list;
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] as number;
console.log(
  `GET /products/{id} through HttpCore.fetch, ${requests} requests x 3 rounds, CPU-µs per request (median); base ${baseRev.slice(0, 12)}`,
);
for (const tree of Object.keys(trees)) {
  const off = median(costs[`${tree} off`] ?? []);
  for (const name of Object.keys(variants)) {
    const xs = costs[`${tree} ${name}`] ?? [];
    const m = median(xs);
    console.log(
      `${`${tree} ${name}`.padEnd(21)} ${m.toFixed(2)} µs  (+${(m - off).toFixed(2)} µs, ${(((m - off) / off) * 100).toFixed(0)} % vs ${tree} off)  rounds ${xs.join(" ")}`,
    );
  }
}
