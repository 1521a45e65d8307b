/**
 * Products on DynamoDB (DynamoDB Local, shared) with the Redis cache (the machine's Redis, a key prefix per run):
 * the Foundation contract unchanged, cache-aside behaviour, single flight, and no stale read under
 * interleaved writes across two api instances.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { configuredTables } from "../../src/adapters/dynamodb/tables.ts";
import { ensureTables } from "../../src/cli/migrate.ts";
import { loadConfig } from "../../src/config.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { dynamoClient, runId, sharedDynamoDb, uniqueProductId } from "../helpers/deps.ts";
import { productContract } from "../helpers/product-contract.ts";
import { spawnShop, startTestShop, type TestShop } from "../helpers/shop.ts";

const prefix = `${runId("products")}:`;
let env: Record<string, string>;
let a: TestShop;
let b: TestShop;

const redis = createClient({ url: "redis://127.0.0.1:6379" });

beforeAll(async () => {
  const { url } = await sharedDynamoDb();
  env = {
    AWS_ENDPOINT_URL_DYNAMODB: url,
    PRODUCTS_TABLE: runId("products"),
    REDIS_URL: "redis://127.0.0.1:6379",
    REDIS_KEY_PREFIX: prefix,
  };
  const client = dynamoClient(url);
  await ensureTables(client, configuredTables(loadConfig(env)));
  client.destroy();
  await redis.connect();
  [a, b] = await Promise.all([startTestShop(["api"], env), startTestShop(["api"], env)]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(keys);
  redis.destroy();
});

const put = (shop: TestShop, product: ReturnType<typeof demoProduct>) =>
  fetch(`${shop.url}/products/${product.product_id}/details`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(product),
  });

/** Successful DynamoDB calls so far: each is one store read or write. */
async function storeCalls(shop: TestShop): Promise<number> {
  const text = await (await fetch(`${shop.url}/metrics`)).text();
  const m = /dependency_call_duration_seconds_count\{dependency="dynamodb",outcome="ok"\} (\d+)/.exec(text);
  return Number(m?.[1] ?? 0);
}

productContract("DynamoDB + Redis", () => a.url);

describe("cache-aside", () => {
  test("a miss fills the cache, the next read hits, a write invalidates it", async () => {
    const id = uniqueProductId();
    expect((await put(a, demoProduct(id))).status).toBe(204);
    const first = await fetch(`${a.url}/products/${id}`);
    expect(first.headers.get("x-cache")).toBe("MISS");
    const second = await fetch(`${a.url}/products/${id}`);
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(await second.json()).toEqual(demoProduct(id));
    expect(await redis.ttl(`${prefix}product:${id}`)).toBeGreaterThan(0);

    const changed = { ...demoProduct(id), sku: "CHANGED" };
    expect((await put(b, changed)).status).toBe(204);
    const after = await fetch(`${a.url}/products/${id}`);
    expect(after.headers.get("x-cache")).toBe("MISS");
    expect(await after.json()).toEqual(changed);
  });

  test("a 404 is cached briefly and a write replaces it at once", async () => {
    const id = uniqueProductId();
    expect((await fetch(`${a.url}/products/${id}`)).headers.get("x-cache")).toBe("MISS");
    const cached = await fetch(`${a.url}/products/${id}`);
    expect(cached.status).toBe(404);
    expect(cached.headers.get("x-cache")).toBe("HIT");
    expect((await cached.json()) as object).toMatchObject({ error: "NOT_FOUND" });
    const ttl = await redis.ttl(`${prefix}product:${id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5);
    expect((await put(b, demoProduct(id))).status).toBe(204);
    const found = await fetch(`${a.url}/products/${id}`);
    expect(found.status).toBe(200);
  });

  test("a stampede on a cold key costs one store read", async () => {
    const id = uniqueProductId();
    expect((await put(a, demoProduct(id))).status).toBe(204);
    const before = await storeCalls(a);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${a.url}/products/${id}`).then((r) => r.json())),
    );
    expect(answers.every((p) => (p as { product_id: number }).product_id === id)).toBe(true);
    expect((await storeCalls(a)) - before).toBe(1);
  });

  test("1000 interleaved writes and reads on hot keys never return a value older than the last acknowledged write", async () => {
    const ids = [uniqueProductId(), uniqueProductId(), uniqueProductId()];
    const acknowledged = new Map(ids.map((id) => [id, 0]));
    for (const id of ids) expect((await put(a, { ...demoProduct(id), weight: 0 })).status).toBe(204);
    const shops = [a, b];
    let operations = 0;
    const stale: string[] = [];
    const deadline = Date.now() + 20_000;

    // Per key: one writer bumping `weight` as a version, alternating instances, while readers on both
    // instances check each answer against the version acknowledged before the read was sent.
    const writer = async (id: number) => {
      for (let version = 1; operations < 1000 && Date.now() < deadline; version++) {
        operations++;
        const res = await put(shops[version % 2] as TestShop, { ...demoProduct(id), weight: version });
        expect(res.status).toBe(204);
        acknowledged.set(id, version);
      }
    };
    const reader = async (n: number) => {
      for (let i = 0; operations < 1000 && Date.now() < deadline; i++) {
        operations++;
        const id = ids[(n + i) % ids.length] as number;
        const floor = acknowledged.get(id) ?? 0;
        const res = await fetch(`${(shops[(n + i) % 2] as TestShop).url}/products/${id}`);
        const { weight } = (await res.json()) as { weight: number };
        if (weight < floor)
          stale.push(`product ${id}: read version ${weight} after version ${floor} was acknowledged`);
      }
    };
    await Promise.all([...ids.map(writer), ...Array.from({ length: 6 }, (_, n) => reader(n))]);
    expect(operations).toBeGreaterThanOrEqual(1000);
    expect(stale).toEqual([]);
    // The cache did take part: otherwise the test would prove nothing about invalidation.
    const text = await (await fetch(`${a.url}/metrics`)).text();
    expect(text).toMatch(/product_cache_requests_total\{result="hit"\} [1-9]/);
  });
});

describe("readiness and metrics", () => {
  test("/ready names the table, the Redis connection and the breaker states", async () => {
    const res = await fetch(`${a.url}/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, unknown> };
    expect(body.checks.dynamodb).toEqual({ tables: [env.PRODUCTS_TABLE], breaker: "closed" });
    expect(body.checks.redis).toEqual({ status: "up" });
    expect(body.checks.resilience).toMatchObject({ dynamodb: "closed", redis: "closed" });
  });

  test("/metrics exports cache results, dependency latency, errors, retries and breaker state", async () => {
    const text = await (await fetch(`${a.url}/metrics`)).text();
    for (const name of [
      "product_cache_requests_total",
      "dependency_call_duration_seconds_bucket",
      "dependency_errors_total",
      "dependency_retries_total",
      'circuit_breaker_state{dependency="dynamodb"} 0',
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe("shop migrate and shop seed", () => {
  test("migrate creates missing tables on a local endpoint and leaves existing ones", async () => {
    const migrate = async (table: string) => {
      const proc = Bun.spawn([process.execPath, "src/main.ts", "migrate"], {
        env: { PATH: process.env.PATH ?? "", ...env, PRODUCTS_TABLE: table },
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      return out;
    };
    const table = runId("migrated");
    expect(await migrate(table)).toMatch(new RegExp(`^${table}\\s+created$`, "m"));
    expect(await migrate(table)).toMatch(new RegExp(`^${table}\\s+exists$`, "m"));
  });

  test("migrate refuses a real AWS endpoint without --force", async () => {
    const proc = Bun.spawn([process.execPath, "src/main.ts", "migrate"], {
      env: { PATH: process.env.PATH ?? "", PRODUCTS_TABLE: "x", AWS_REGION: "eu-west-1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const err = await new Response(proc.stderr).text();
    expect(await proc.exited).toBe(2);
    expect(err).toContain("refusing to create tables on AWS");
  });

  test("seed loads demo products into the configured table and invalidates their cache entries", async () => {
    const id = 3;
    await fetch(`${a.url}/products/${id}`); // caches the 404 before the seed
    const proc = Bun.spawn([process.execPath, "src/main.ts", "seed", "--products", "40"], {
      env: { PATH: process.env.PATH ?? "", ...env, LOG_LEVEL: "warn" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(out).toMatch(new RegExp(`^seeded 40 products into DynamoDB table ${env.PRODUCTS_TABLE} in `));
    const res = await fetch(`${a.url}/products/40`);
    expect(await res.json()).toEqual(demoProduct(40));
    expect(await (await fetch(`${a.url}/products/${id}`)).json()).toEqual(demoProduct(id));
  });

  test("the binary's child process serves the DynamoDB store", async () => {
    const child = await spawnShop(["--role", "api"], env);
    try {
      expect(await (await fetch(`${child.url}/products/40`)).json()).toEqual(demoProduct(40));
    } finally {
      child.proc.kill("SIGTERM");
      expect(await child.proc.exited).toBe(0);
    }
  });
});
