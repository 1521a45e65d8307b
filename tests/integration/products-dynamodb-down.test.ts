/**
 * DynamoDB (DynamoDB Local, a child JVM of this file's own) killed mid-run: requests fail 503 until the breaker opens, then fail at once
 * without touching the store; when DynamoDB is back a half-open probe closes the breaker and traffic
 * recovers with no restart. Also: 50 % injected errors with retries, success rate and latency printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { configuredTables } from "../../src/adapters/dynamodb/tables.ts";
import { ensureTables } from "../../src/cli/migrate.ts";
import { loadConfig } from "../../src/config.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { type Child, dynamoClient, runId, startDynamoDbLocal } from "../helpers/deps.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

let dynamo: Child;
let env: Record<string, string>;
const shops: TestShop[] = [];

async function migrate() {
  const client = dynamoClient(dynamo.url);
  const [table] = await ensureTables(client, configuredTables(loadConfig(env)));
  client.destroy();
  return table?.action;
}

async function start(extra: Record<string, string> = {}) {
  const shop = await startTestShop(["api"], { ...env, ...extra });
  shops.push(shop);
  return shop;
}

const put = (shop: TestShop, id: number) =>
  fetch(`${shop.url}/products/${id}/details`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(demoProduct(id)),
  });

async function metric(shop: TestShop, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await (await fetch(`${shop.url}/metrics`)).text());
  return Number(m?.[1] ?? 0);
}
const attempts = (shop: TestShop) =>
  metric(shop, /dependency_call_duration_seconds_count\{dependency="dynamodb",outcome="error"\} (\d+)/);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  env = { AWS_ENDPOINT_URL_DYNAMODB: dynamo.url, PRODUCTS_TABLE: runId("products-down") };
  expect(await migrate()).toBe("created");
});

afterAll(async () => {
  await Promise.all(shops.map((s) => s.stop()));
  await dynamo?.kill();
});

describe("DynamoDB outage", () => {
  test("breaker opens, open-circuit answers are 503 without a store call, a probe closes it after the restart", async () => {
    const shop = await start();
    expect((await put(shop, 1)).status).toBe(204);
    expect((await fetch(`${shop.url}/products/1`)).status).toBe(200);

    await dynamo.kill();
    let opened = false;
    for (let i = 0; i < 20 && !opened; i++) {
      const res = await fetch(`${shop.url}/products/1`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toBe("SERVICE_UNAVAILABLE");
      opened = (
        await fetch(`${shop.url}/ready`)
          .then((r) => r.json())
          .then((b) => JSON.stringify(b))
      ).includes('"dynamodb":"open"');
    }
    expect(opened).toBe(true);

    const before = await attempts(shop);
    const timings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const res = await fetch(`${shop.url}/products/1`);
      timings.push(performance.now() - started);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.json()).toEqual({
        error: "SERVICE_UNAVAILABLE",
        message: "dynamodb is unavailable (circuit open)",
      });
    }
    // Rejected by the open circuit: not one attempt reached the store.
    expect(await attempts(shop)).toBe(before);
    timings.sort((x, y) => x - y);
    console.log(
      `open circuit: 503 round trip p50 ${percentile(timings, 50).toFixed(2)} ms, max ${timings.at(-1)?.toFixed(2)} ms`,
    );
    const ready = await fetch(`${shop.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { message: string }).message).toContain("dynamodb");

    await dynamo.restart();
    // DynamoDB Local runs in memory: it comes back empty on the same port, like a restored table.
    expect(await migrate()).toBe("created");
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await put(shop, 1)).status;
      if (status === 204) break;
      await Bun.sleep(100);
    }
    expect(status).toBe(204);
    expect(await (await fetch(`${shop.url}/products/1`)).json()).toEqual(demoProduct(1));
    const ready2 = await fetch(`${shop.url}/ready`);
    expect(ready2.status).toBe(200);
    expect(((await ready2.json()) as { checks: unknown }).checks).toMatchObject({
      resilience: { dynamodb: "closed" },
    });
  });
});

describe("injected errors", () => {
  test("50 % injected DynamoDB errors: retries keep most reads up, every failure is a clean 503", async () => {
    const shop = await start({ FAULTS: "dynamodb:error=0.5" });
    // The writes see the faults too: retry each until stored.
    for (let id = 1; id <= 20; id++) {
      for (let i = 0; i < 20 && (await put(shop, id)).status !== 204; i++) await Bun.sleep(5);
    }
    const n = 300;
    const timings: number[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const res = await fetch(`${shop.url}/products/${(i % 20) + 1}`);
      timings.push(performance.now() - started);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status !== 200) {
        expect(res.status).toBe(503);
        expect(((await res.json()) as { error: string }).error).toBe("SERVICE_UNAVAILABLE");
      } else await res.body?.cancel();
    }
    const ok = statuses.get(200) ?? 0;
    timings.sort((x, y) => x - y);
    console.log(
      `50% injected errors, 3 attempts: success ${((100 * ok) / n).toFixed(1)}% of ${n} reads ` +
        `(expected 87.5%), p50 ${percentile(timings, 50).toFixed(1)} ms, p99 ${percentile(timings, 99).toFixed(1)} ms`,
    );
    // Without retries the rate would be ~50 %; with three attempts ~87.5 % (0.125 ≈ 6.5 sd below at n=300).
    expect(ok / n).toBeGreaterThan(0.75);
    expect(await metric(shop, /dependency_retries_total\{dependency="dynamodb"\} (\d+)/)).toBeGreaterThan(0);
  });
});
