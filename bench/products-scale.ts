/**
 * Products at production scale: GET /products/{id} under a Zipf read load over 10k products, for the
 * memory store, DynamoDB (DynamoDB Local) uncached, and DynamoDB behind the Redis cache; then DynamoDB
 * with 50 % injected errors. The server runs on BENCH_SERVER_CORE (0), wrk, DynamoDB Local and
 * redis-server on BENCH_LOAD_CORE (1).
 *
 *   bun run bench:products     (DURATION_S=10 WARMUP_S=10 CONNECTIONS=64 by default)
 */
import { startDynamoDbLocal, startRedisServer } from "../tests/helpers/deps.ts";
import { LOAD_CORE, ROOT, SERVER_CORE, startShop, wrk } from "./lib.ts";

const PRODUCTS = 10_000;
const DURATION_S = Number(process.env.DURATION_S ?? 10);
const WARMUP_S = Number(process.env.WARMUP_S ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);
// zipf.lua reads the id range from its environment, which wrk inherits from this process.
process.env.ZIPF_N = String(PRODUCTS);

const zipf = (url: string, seconds: number) =>
  wrk(url, { connections: CONNECTIONS, seconds, script: `${ROOT}bench/zipf.lua` });

async function cacheCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = { hit: 0, miss: 0, bypass: 0 };
  for (const m of text.matchAll(/product_cache_requests_total\{result="(\w+)"\} (\d+)/g))
    counts[m[1] as string] = Number(m[2]);
  return counts;
}

function hitRatio(from: Record<string, number>, to: Record<string, number>): number | undefined {
  const d = (k: string) => (to[k] ?? 0) - (from[k] ?? 0);
  const lookups = d("hit") + d("miss") + d("bypass");
  return lookups > 0 ? d("hit") / lookups : undefined;
}

async function seedOverHttp(url: string) {
  const { demoProduct } = await import("../src/domain/products.ts");
  let next = 1;
  const worker = async () => {
    while (next <= PRODUCTS) {
      const id = next++;
      const res = await fetch(`${url}/products/${id}/details`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(demoProduct(id)),
      });
      if (res.status !== 204) throw new Error(`seed ${id}: ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Reads every product once, as a cache in steady state would have them (TTL 300 s ≫ the run). */
async function readAll(url: string) {
  let next = 1;
  const worker = async () => {
    while (next <= PRODUCTS) await (await fetch(`${url}/products/${next++}`)).body?.cancel();
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

interface Steps {
  /** Before the warm-up (seeding). */
  prepare?(url: string): Promise<void>;
  /** Between the warm-up and the measured run. */
  prime?(url: string): Promise<void>;
}

async function run(name: string, env: Record<string, string>, steps: Steps = {}) {
  const shop = await startShop(["--role", "api"], { LOG_LEVEL: "warn", ...env }, { stdout: "inherit" });
  const { url } = shop;
  try {
    await steps.prepare?.(url);
    const cold = await cacheCounts(url);
    if (WARMUP_S > 0) await zipf(url, WARMUP_S);
    await steps.prime?.(url);
    const before = await cacheCounts(url);
    const result = await zipf(url, DURATION_S);
    const after = await cacheCounts(url);
    return { name, ...result, coldHitRatio: hitRatio(cold, before), hitRatio: hitRatio(before, after) };
  } finally {
    await shop.stop();
  }
}

const row = (r: Awaited<ReturnType<typeof run>>, base: number) =>
  `| ${r.name.padEnd(38)} | ${r.rps.toFixed(0).padStart(7)} | ${(r.rps / base).toFixed(2).padStart(5)} | ${r.p50Ms.toFixed(2).padStart(6)} | ${r.p99Ms.toFixed(2).padStart(6)} | ${r.hitRatio === undefined ? "   -" : r.hitRatio.toFixed(3)} | ${((100 * (r.requests - r.non2xx)) / r.requests).toFixed(1).padStart(5)}% |`;

// Both helpers run on the load core, away from the server under test.
const dynamoDbLocal = await startDynamoDbLocal(["taskset", "-c", LOAD_CORE]);
const redis = await startRedisServer(["taskset", "-c", LOAD_CORE]);
try {
  const table = `bench-products-${process.pid}`;
  const dynamo = { AWS_ENDPOINT_URL_DYNAMODB: dynamoDbLocal.url, PRODUCTS_TABLE: table };
  const cli = (args: string[]) =>
    Bun.spawnSync([process.execPath, `${ROOT}src/main.ts`, ...args], {
      env: { ...process.env, ...dynamo, LOG_LEVEL: "warn" },
      stdout: "inherit",
      stderr: "inherit",
    });
  cli(["migrate"]);
  cli(["seed", "--products", String(PRODUCTS)]);
  console.log(
    `Zipf(s=1) reads over ${PRODUCTS} products, ${CONNECTIONS} connections, ${DURATION_S} s after ${WARMUP_S} s warm-up; server on core ${SERVER_CORE}, wrk + DynamoDB Local + redis-server on core ${LOAD_CORE}\n`,
  );
  const results = [
    await run("memory", {}, { prepare: seedOverHttp }),
    await run("DynamoDB (DynamoDB Local), uncached", dynamo),
    await run("DynamoDB + Redis, Zipf after warm-up", { ...dynamo, REDIS_URL: redis.url }),
    await run("DynamoDB + Redis, hit path (primed)", { ...dynamo, REDIS_URL: redis.url }, { prime: readAll }),
    await run("DynamoDB uncached, 50% errors", { ...dynamo, FAULTS: "dynamodb:error=0.5" }),
  ];
  const base = results[0]?.rps ?? 1;
  console.log(
    "| store                                  |   req/s | ×mem  | p50 ms | p99 ms | hits  |  2xx   |",
  );
  console.log(
    "|----------------------------------------|--------:|------:|-------:|-------:|------:|-------:|",
  );
  for (const r of results) console.log(row(r, base));
  const cached = results[2];
  console.log(
    `\nZipf hit ratio from an empty cache: first ${WARMUP_S} s ${cached?.coldHitRatio?.toFixed(3)}, ` +
      `next ${DURATION_S} s ${cached?.hitRatio?.toFixed(3)}; hit path / memory req/s: ` +
      `${((results[3]?.rps ?? 0) / base).toFixed(2)}`,
  );
} finally {
  await dynamoDbLocal.kill();
  await redis.kill();
}
