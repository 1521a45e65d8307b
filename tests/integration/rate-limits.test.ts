/**
 * Token buckets per credential and per client address: shared by two instances through Redis, refilled
 * over time, 429 with Retry-After and the RateLimit headers; in memory without Redis, with the bid budget
 * apart from reads, and X-Forwarded-For believed only with TRUST_PROXY.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const KEY_1 = "rate-key-1-0123456789abcdef";
const KEY_2 = "rate-key-2-0123456789abcdef";
const API_KEYS = JSON.stringify([
  { name: "one", key: KEY_1, scopes: ["catalog:read", "catalog:write"] },
  { name: "two", key: KEY_2, scopes: ["catalog:read"] },
]);

const read = (url: string, key: string, from: string) =>
  fetch(`${url}/products/1`, { headers: { "x-api-key": key, "x-forwarded-for": `203.0.113.9, ${from}` } });

describe("two instances sharing Redis", () => {
  let a: TestShop;
  let b: TestShop;
  beforeAll(async () => {
    const env = {
      AUTH_DISABLED: "false",
      API_KEYS,
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_KEY_PREFIX: `rate-test-${crypto.randomUUID()}:`,
      RATE_LIMIT_READ: "3/min",
      TRUST_PROXY: "true",
    };
    [a, b] = await Promise.all([startTestShop(["api"], env), startTestShop(["api"], env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("one budget across both: the fourth read is 429 wherever it lands, with the headers", async () => {
    expect((await read(a.url, KEY_1, "10.0.0.1")).status).not.toBe(429);
    expect((await read(b.url, KEY_1, "10.0.0.1")).status).not.toBe(429);
    expect((await read(a.url, KEY_1, "10.0.0.1")).status).not.toBe(429);
    const limited = await read(b.url, KEY_1, "10.0.0.1");
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: "TOO_MANY_REQUESTS" });
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(limited.headers.get("ratelimit-policy")).toBe('"read";q=3;w=60');
    expect(limited.headers.get("ratelimit")).toMatch(/^"read";r=0;t=\d+$/);
  });

  test("the credential's bucket holds from another address; another key from a fresh address is served", async () => {
    expect((await read(a.url, KEY_1, "10.0.0.2")).status).toBe(429);
    expect((await read(b.url, KEY_2, "10.0.0.3")).status).not.toBe(429);
  });

  test("the address's bucket holds for another key", async () => {
    expect((await read(a.url, KEY_2, "10.0.0.1")).status).toBe(429);
  });

  test("writes have their own budget (unlimited here)", async () => {
    const res = await fetch(`${a.url}/products/1/details`, {
      method: "POST",
      headers: { "x-api-key": KEY_1, "x-forwarded-for": "10.0.0.1", "content-type": "application/json" },
      body: JSON.stringify({
        product_id: 1,
        sku: "s",
        manufacturer: "m",
        category_id: 1,
        weight: 1,
        some_other_id: 1,
      }),
    });
    expect(res.status).not.toBe(429);
  });

  test("the bucket refills: after Retry-After the key is served again", async () => {
    const limited = await read(b.url, KEY_1, "10.0.0.4");
    expect(limited.status).toBe(429);
    await Bun.sleep(Number(limited.headers.get("retry-after")) * 1000 + 200);
    expect((await read(a.url, KEY_1, "10.0.0.4")).status).not.toBe(429);
  }, 40_000);
});

describe("in memory, without Redis", () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await startTestShop(["all"], { AUTH_DISABLED: "false", RATE_LIMIT_BID: "2/min" });
    const ends_at = new Date(Date.now() + 3_600_000).toISOString();
    const res = await fetch(`${shop.url}/api/v1/items`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ item_id: "rate-lamp", name: "lamp", start_price: 1, ends_at }),
    });
    expect(res.status).toBe(201);
  });
  afterAll(() => shop?.stop());

  const bid = (amount: number, from: string) =>
    fetch(`${shop.url}/api/v1/items/rate-lamp/bid`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": from },
      body: JSON.stringify({ user_id: "u", amount }),
    });

  test("bids have their own budget; reads are not limited; X-Forwarded-For is ignored without TRUST_PROXY", async () => {
    expect((await bid(1, "10.1.0.1")).status).toBe(201);
    expect((await bid(2, "10.1.0.2")).status).toBe(201);
    const limited = await bid(3, "10.1.0.3");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("ratelimit-policy")).toBe('"bid";q=2;w=60');
    for (let i = 0; i < 5; i++) expect((await fetch(`${shop.url}/api/v1/items/rate-lamp`)).status).toBe(200);
  });
});
