import { describe, expect, test } from "bun:test";
import type { RedisConnection } from "../../src/adapters/redis/client.ts";
import { clientAddress, memoryLimiter, rateHeaders, redisLimiter } from "../../src/http/rate-limit.ts";
import { createLogger } from "../../src/observability/log.ts";

const rate = { capacity: 2, periodMs: 1000 };

describe("memory token buckets", () => {
  test("a bucket of N, refilled evenly; every bucket must have a token", () => {
    let now = 0;
    const l = memoryLimiter({ read: rate }, () => now);
    expect(l.take("read", ["ip:a", "key:x"])).toMatchObject({ allowed: true, remaining: 1 });
    expect(l.take("read", ["ip:a", "key:x"])).toMatchObject({ allowed: true, remaining: 0 });
    expect(l.take("read", ["ip:a", "key:x"])).toEqual({ allowed: false, remaining: 0, retryAfterS: 1 });
    // Another address, same key: the key's bucket is empty.
    expect(l.take("read", ["ip:b", "key:x"]).allowed).toBe(false);
    // A refused request takes nothing: ip:b still has both tokens.
    expect(l.take("read", ["ip:b"])).toMatchObject({ allowed: true, remaining: 1 });
    now = 500;
    expect(l.take("read", ["ip:a", "key:x"])).toMatchObject({ allowed: true, remaining: 0 });
    expect(l.take("read", ["ip:a", "key:x"]).allowed).toBe(false);
  });

  test("an unset budget is unlimited; budgets are separate", () => {
    const l = memoryLimiter({ bid: { capacity: 1, periodMs: 60_000 } });
    for (let i = 0; i < 100; i++) expect(l.take("read", ["ip:a"]).allowed).toBe(true);
    expect(l.take("bid", ["ip:a"]).allowed).toBe(true);
    const refused = l.take("bid", ["ip:a"]);
    expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterS: 60 });
    expect(rateHeaders("bid", { capacity: 1, periodMs: 60_000 }, refused)).toEqual({
      "RateLimit-Policy": '"bid";q=1;w=60',
      RateLimit: '"bid";r=0;t=60',
    });
  });
});

test("with Redis failing, each instance limits from its own memory instead of failing or admitting all", async () => {
  const logs: string[] = [];
  const down = {
    client: {},
    key: (k: string) => k,
    policy: { execute: () => Promise.reject(new Error("ECONNREFUSED")) },
  } as unknown as RedisConnection;
  const l = redisLimiter(
    { write: rate },
    down,
    createLogger("warn", (t) => logs.push(t)),
  );
  expect((await l.take("write", ["ip:a"])).allowed).toBe(true);
  expect((await l.take("write", ["ip:a"])).allowed).toBe(true);
  expect((await l.take("write", ["ip:a"])).allowed).toBe(false);
});

describe("the client's address", () => {
  const req = (xff?: string) => new Request("http://x/", { headers: xff ? { "x-forwarded-for": xff } : {} });
  test("X-Forwarded-For only with TRUST_PROXY, and then its last entry (the balancer's)", () => {
    expect(clientAddress(req("6.6.6.6, 10.0.0.7"), true, "10.1.1.1")).toBe("10.0.0.7");
    expect(clientAddress(req("6.6.6.6, 10.0.0.7"), false, "10.1.1.1")).toBe("10.1.1.1");
    expect(clientAddress(req(), true, "10.1.1.1")).toBe("10.1.1.1");
  });
});
