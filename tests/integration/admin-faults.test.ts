/**
 * /admin/faults: only with ADMIN_TOKEN, Bearer auth (401/403), and faults set at run time fire inside
 * the dependency call: a Redis error fault opens the redis breaker and reads bypass the cache. Bad
 * FAULTS or ADMIN_TOKEN values stop startup with a clear message.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { demoProduct } from "../../src/domain/products.ts";
import { runId } from "../helpers/deps.ts";
import { MAIN, startTestShop, type TestShop } from "../helpers/shop.ts";

const TOKEN = "test-admin-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };
let shop: TestShop;
let open: TestShop;

beforeAll(async () => {
  [shop, open] = await Promise.all([
    startTestShop(["api"], {
      ADMIN_TOKEN: TOKEN,
      FAULTS: "payment:latency=5ms",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_KEY_PREFIX: `${runId("admin")}:`,
    }),
    startTestShop(["api"]),
  ]);
});

afterAll(async () => {
  await Promise.all([shop?.stop(), open?.stop()]);
});

const faults = (method: string, headers: Record<string, string> = auth, body?: unknown) =>
  fetch(`${shop.url}/admin/faults`, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("admin auth", () => {
  test("without ADMIN_TOKEN the admin routes do not exist", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await fetch(`${open.url}/admin/faults`, { method, headers: auth });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe("NOT_FOUND");
    }
  });

  test.each([
    ["no header", {}],
    ["Basic scheme", { authorization: `Basic ${btoa(`admin:${TOKEN}`)}` }],
    ["empty bearer", { authorization: "Bearer " }],
  ])("%s is 401", async (_name, headers) => {
    const res = await faults("GET", headers);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await res.json()) as { error: string }).error).toBe("UNAUTHORIZED");
  });

  test.each([`${TOKEN}x`, TOKEN.slice(1), "x"])("wrong token %p is 403", async (token) => {
    const res = await faults("DELETE", { authorization: `Bearer ${token}` });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("FORBIDDEN");
  });
});

describe("admin faults", () => {
  test("GET shows the FAULTS given at startup; PUT replaces, bad grammar is 400; DELETE clears", async () => {
    expect(await (await faults("GET")).json()).toEqual({ faults: "payment:latency=5ms" });
    const bad = await faults("PUT", auth, { faults: "redis:error=2" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: string }).details).toContain("faults");
    expect((await faults("PUT", auth, { nope: 1 })).status).toBe(400);
    const set = await faults("PUT", auth, { faults: "dynamodb:error=0.25, dynamodb:latency=1s" });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ faults: "dynamodb:error=0.25,dynamodb:latency=1000ms" });
    expect((await faults("DELETE")).status).toBe(204);
    expect(await (await faults("GET")).json()).toEqual({ faults: "" });
  });

  test("a Redis error fault trips the redis breaker: reads bypass, readiness stays up, clearing restores hits", async () => {
    const id = 77;
    await fetch(`${shop.url}/products/${id}/details`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(demoProduct(id)),
    });
    expect((await faults("PUT", auth, { faults: "redis:error=1" })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${shop.url}/products/${id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cache")).toBe("BYPASS");
    }
    const ready = await fetch(`${shop.url}/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: unknown }).checks).toMatchObject({
      resilience: { redis: "open" },
    });

    expect((await faults("DELETE")).status).toBe(204);
    const deadline = Date.now() + 5000;
    let cache: string | null = null;
    while (Date.now() < deadline && cache !== "HIT") {
      cache = (await fetch(`${shop.url}/products/${id}`)).headers.get("x-cache");
      await Bun.sleep(50);
    }
    expect(cache).toBe("HIT");
  });
});

describe("bad configuration stops startup", () => {
  const run = async (env: Record<string, string>) => {
    const proc = Bun.spawn([process.execPath, MAIN, "--role", "api"], {
      env: { PATH: process.env.PATH ?? "", PORT: "0", ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const err = await new Response(proc.stderr).text();
    return { code: await proc.exited, err };
  };

  test("a bad FAULTS value names FAULTS and the expected form", async () => {
    const { code, err } = await run({ FAULTS: "dynamodb:error=lots" });
    expect(code).toBe(1);
    expect(err).toContain('FAULTS="dynamodb:error=lots"');
    expect(err).toContain("dep:error=P");
  });

  test("a too short ADMIN_TOKEN names the variable without printing the secret", async () => {
    const { code, err } = await run({ ADMIN_TOKEN: "hunter2" });
    expect(code).toBe(1);
    expect(err).toContain("ADMIN_TOKEN");
    expect(err).not.toContain("hunter2");
  });

  test("bad REDIS_URL and PRODUCT_CACHE_TTL_S are both reported", async () => {
    const { code, err } = await run({ REDIS_URL: "http://127.0.0.1:6379", PRODUCT_CACHE_TTL_S: "0" });
    expect(code).toBe(1);
    expect(err).toContain("REDIS_URL");
    expect(err).toContain("PRODUCT_CACHE_TTL_S");
  });
});
