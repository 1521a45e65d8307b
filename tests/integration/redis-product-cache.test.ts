/** The Redis product cache against the machine's Redis: leases, guarded fills, TTLs, invalidation. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSharedRedis, type RedisModule } from "../../src/adapters/redis/client.ts";
import { RedisProductCache } from "../../src/adapters/redis/product-cache.ts";
import { loadConfig } from "../../src/config.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { runId } from "../helpers/deps.ts";

const prefix = `${runId("cache")}:`;
let redis: RedisModule;
let cache: RedisProductCache;

beforeAll(async () => {
  const config = loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_KEY_PREFIX: prefix });
  const logger = createLogger("silent");
  redis = createSharedRedis(
    { ...config, REDIS_URL: "redis://127.0.0.1:6379" },
    createResilience(undefined, createMetrics().registry, logger),
    logger,
  );
  await redis.start();
  cache = new RedisProductCache(redis.value, 60, 5);
});

afterAll(async () => {
  const keys = await redis.value.client.keys(`${prefix}*`);
  if (keys.length > 0) await redis.value.client.del(keys);
  await redis.stop();
});

describe("RedisProductCache", () => {
  test("the first miss gets the lease, a concurrent one does not, and the fill under the lease hits", async () => {
    const first = await cache.lookup(1);
    expect(first.kind).toBe("miss");
    const lease = first.kind === "miss" ? first.lease : undefined;
    expect(lease).toBeString();
    expect(await cache.lookup(1)).toEqual({ kind: "miss", lease: undefined });
    await cache.fill(1, demoProduct(1), lease as string);
    expect(await cache.lookup(1)).toEqual({ kind: "hit", product: demoProduct(1) });
    const ttl = await redis.value.client.ttl(`${prefix}product:1`);
    expect(ttl).toBeGreaterThan(5);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  test("a fill after an invalidation (a write in between) does not land", async () => {
    const miss = await cache.lookup(2);
    await cache.invalidate(2);
    await cache.fill(2, demoProduct(2), miss.kind === "miss" ? (miss.lease as string) : "");
    expect(await redis.value.client.get(`${prefix}product:2`)).toBeNull();
  });

  test("a 404 is cached with the short TTL", async () => {
    const miss = await cache.lookup(3);
    await cache.fill(3, undefined, miss.kind === "miss" ? (miss.lease as string) : "");
    expect(await cache.lookup(3)).toEqual({ kind: "hit", product: undefined });
    expect(await redis.value.client.ttl(`${prefix}product:3`)).toBeLessThanOrEqual(5);
  });

  test("an unreadable entry is an error (the catalog bypasses), not a wrong product", async () => {
    await redis.value.client.set(`${prefix}product:4`, "{garbage");
    await expect(cache.lookup(4)).rejects.toThrow();
  });

  test("ready reports the connection", async () => {
    expect(await redis.ready()).toEqual({ status: "up" });
  });
});
