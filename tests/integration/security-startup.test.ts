/**
 * Secure by default: open with no configuration at all (and says so once), refusing to start on real
 * infrastructure without credentials unless AUTH_DISABLED=true; keys come from configuration, so a key
 * removed from it is refused after the restart.
 */
import { describe, expect, test } from "bun:test";
import { MAIN, startTestShop } from "../helpers/shop.ts";

const REDIS_URL = "redis://127.0.0.1:6379";
const KEY_A = "key-a-0123456789abcdef";
const KEY_B = "key-b-0123456789abcdef";
const keys = (...named: [string, string][]) =>
  JSON.stringify(named.map(([name, key]) => ({ name, key, scopes: ["catalog:read"] })));

const warnings = (logs: string[]) =>
  logs
    .join("")
    .split("\n")
    .filter((l) => l.includes('"level":"warn"') && l.includes("open"));

describe("no configuration at all", () => {
  test("every operation is open, and startup says so in one warning line", async () => {
    const shop = await startTestShop(["all"], { AUTH_DISABLED: "false" });
    try {
      expect((await fetch(`${shop.url}/products/1`)).status).toBe(404);
    } finally {
      await shop.stop();
    }
    // The logger buffers; stopping flushed it.
    expect(warnings(shop.logs)).toHaveLength(1);
    expect(warnings(shop.logs)[0]).toContain("API_KEYS");
  });
});

describe("real infrastructure configured", () => {
  test.each([
    ["REDIS_URL", { REDIS_URL }],
    ["DATABASE_URL", { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test" }],
    ["a *_TABLE", { PRODUCTS_TABLE: "products", AWS_REGION: "us-east-1" }],
    ["SQS", { SQS_QUEUE_URL: "http://127.0.0.1:1/queue/orders", AWS_REGION: "us-east-1" }],
  ])("with %s and no credentials, startup refuses and names what to set", async (_name, env) => {
    const failed = await startTestShop(["api"], { AUTH_DISABLED: "false", ...env }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    const message = String((failed as Error & { cause?: unknown }).cause ?? failed);
    expect(message).toContain("API_KEYS");
    expect(message).toContain("AUTH_DISABLED=true");
  });

  test("the CLI exits 1 with the reason on stderr", async () => {
    const proc = Bun.spawn([process.execPath, MAIN, "--role", "api"], {
      env: { PATH: process.env.PATH ?? "", PORT: "0", REDIS_URL },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    const err = await new Response(proc.stderr).text();
    expect(err).toContain("REDIS_URL configured but neither API_KEYS nor JWT_ISSUER");
  });

  test("AUTH_DISABLED=true starts it open, with the warning", async () => {
    const shop = await startTestShop(["api"], { AUTH_DISABLED: "true", REDIS_URL });
    try {
      expect((await fetch(`${shop.url}/products/1`)).status).toBe(404);
    } finally {
      await shop.stop();
    }
    expect(warnings(shop.logs)).toHaveLength(1);
    expect(warnings(shop.logs)[0]).toContain("AUTH_DISABLED");
  });

  test("with API keys it starts and enforces them", async () => {
    const shop = await startTestShop(["api"], {
      AUTH_DISABLED: "false",
      REDIS_URL,
      API_KEYS: keys(["a", KEY_A]),
    });
    try {
      expect((await fetch(`${shop.url}/products/1`)).status).toBe(401);
      expect((await fetch(`${shop.url}/products/1`, { headers: { "x-api-key": KEY_A } })).status).toBe(404);
    } finally {
      await shop.stop();
    }
    expect(warnings(shop.logs)).toHaveLength(0);
  });
});

test("a key removed from API_KEYS is refused after the restart", async () => {
  const get = (url: string, key: string) => fetch(`${url}/products/1`, { headers: { "x-api-key": key } });
  const env = { AUTH_DISABLED: "false" };
  const first = await startTestShop(["api"], { ...env, API_KEYS: keys(["a", KEY_A], ["b", KEY_B]) });
  expect((await get(first.url, KEY_A)).status).toBe(404);
  expect((await get(first.url, KEY_B)).status).toBe(404);
  await first.stop();
  const second = await startTestShop(["api"], { ...env, API_KEYS: keys(["b", KEY_B]) });
  try {
    expect((await get(second.url, KEY_A)).status).toBe(401);
    expect((await get(second.url, KEY_B)).status).toBe(404);
  } finally {
    await second.stop();
  }
});

test("an invalid API_KEYS stops startup naming the variable, never printing the keys", async () => {
  const failed = await startTestShop(["api"], {
    API_KEYS: JSON.stringify([{ name: "x", key: "short-secret-1", scopes: [] }]),
  }).catch((e: unknown) => e);
  const message = String((failed as Error & { cause?: unknown }).cause ?? failed);
  expect(message).toContain("API_KEYS");
  expect(message).not.toContain("short-secret-1");
});

test("two keys of one name, or a key named like ADMIN_TOKEN's, stop startup: logs and metrics name one credential each", async () => {
  for (const env of <Record<string, string>[]>[
    { API_KEYS: keys(["a", KEY_A], ["a", KEY_B]) },
    { API_KEYS: keys(["admin", KEY_A]), ADMIN_TOKEN: "admin-token-0123456789" },
  ]) {
    const failed = await startTestShop(["api"], { AUTH_DISABLED: "false", ...env }).catch((e: unknown) => e);
    expect(String((failed as Error & { cause?: unknown }).cause ?? failed)).toContain("names must be unique");
  }
});
