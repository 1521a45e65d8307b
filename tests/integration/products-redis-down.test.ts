/**
 * The product cache's Redis goes away for real (a private redis-server, killed and paused): reads stay
 * 200 with X-Cache: BYPASS, readiness stays green, and when Redis is back the cache fills again with no
 * restart. Writes during an outage are not shadowed by the entry cached before it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { demoProduct } from "../../src/domain/products.ts";
import { type Child, startRedisServer } from "../helpers/deps.ts";
import { freePort, startTestShop, type TestShop } from "../helpers/shop.ts";

let redis: Child;
let shop: TestShop;

beforeAll(async () => {
  redis = await startRedisServer();
  shop = await startTestShop(["api"], { REDIS_URL: redis.url });
});

afterAll(async () => {
  await shop?.stop();
  redis?.resume();
  await redis?.kill();
});

const put = (product: ReturnType<typeof demoProduct>) =>
  fetch(`${shop.url}/products/${product.product_id}/details`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(product),
  });

const read = async (id: number) => {
  const res = await fetch(`${shop.url}/products/${id}`);
  return {
    status: res.status,
    cache: res.headers.get("x-cache"),
    body: (await res.json()) as { weight?: number },
  };
};

/** Polls until `check` holds, bounded; returns the last value for the assertion. */
async function eventually<T>(probe: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!check(value) && Date.now() < deadline) {
    await Bun.sleep(50);
    value = await probe();
  }
  return value;
}

describe("Redis outage", () => {
  test("killed: reads stay 200 with BYPASS and /ready stays 200; back: the cache fills again", async () => {
    expect((await put(demoProduct(1))).status).toBe(204);
    expect((await read(1)).cache).toBe("MISS");
    expect((await read(1)).cache).toBe("HIT");

    await redis.kill();
    // Past the breaker's threshold, so both the failing calls and the open circuit are exercised.
    for (let i = 0; i < 10; i++) {
      const r = await read(1);
      expect(r.status).toBe(200);
      expect(r.cache).toBe("BYPASS");
      expect(r.body).toEqual(demoProduct(1));
    }
    expect((await put({ ...demoProduct(1), weight: 11 })).status).toBe(204);
    expect((await read(1)).body.weight).toBe(11);
    const ready = await fetch(`${shop.url}/ready`);
    expect(ready.status).toBe(200);
    const { checks } = (await ready.json()) as { checks: Record<string, unknown> };
    expect(checks.redis).toMatchObject({ status: "down" });
    expect(checks.resilience).toMatchObject({ redis: "open" });

    await redis.restart();
    const filled = await eventually(
      () => read(1),
      (r) => r.cache === "HIT",
    );
    expect(filled).toEqual({ status: 200, cache: "HIT", body: { ...demoProduct(1), weight: 11 } });
    expect(((await (await fetch(`${shop.url}/ready`)).json()) as { checks: unknown }).checks).toMatchObject({
      redis: { status: "up" },
      resilience: { redis: "closed" },
    });
  });

  test("paused with a cached entry: a write during the outage is never shadowed by it afterwards", async () => {
    expect((await put(demoProduct(2))).status).toBe(204);
    await read(2);
    expect((await read(2)).cache).toBe("HIT");
    await redis.pause(); // the old entry survives in Redis
    try {
      // Timeouts open the breaker, so the write's delete is rejected without ever reaching Redis.
      for (let i = 0; i < 3; i++) expect((await read(2)).cache).toBe("BYPASS");
      expect((await put({ ...demoProduct(2), weight: 22 })).status).toBe(204);
      expect((await read(2)).body.weight).toBe(22);
    } finally {
      redis.resume();
    }
    // Every read from now on sees the write, including once Redis answers again.
    const deadline = Date.now() + 3000;
    const seen = new Set<string | null>();
    while (Date.now() < deadline) {
      const r = await read(2);
      expect(r.body.weight).toBe(22);
      seen.add(r.cache);
      if (r.cache === "HIT") break;
      await Bun.sleep(50);
    }
    expect(seen.has("HIT")).toBe(true);
  });

  test("down at startup: the api starts, is ready, and serves reads with BYPASS", async () => {
    const nobody = await startTestShop(["api"], { REDIS_URL: `redis://127.0.0.1:${freePort()}` });
    try {
      expect((await fetch(`${nobody.url}/ready`)).status).toBe(200);
      const res = await fetch(`${nobody.url}/products/1`);
      expect(res.status).toBe(404);
      expect(res.headers.get("x-cache")).toBe("BYPASS");
    } finally {
      await nobody.stop();
    }
  });
});
