/**
 * The access log as configured: which requests write a line (5xx, slow, 4xx at debug, a sample of the
 * rest), that every written line and every response carries the request id, and that the metrics still
 * count every request whether or not it was logged.
 */
import { describe, expect, test } from "bun:test";
import { createHttp } from "../../src/http/app.ts";
import { createLogger, type Level } from "../../src/observability/log.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { startTestShop } from "../helpers/shop.ts";

type Line = Record<string, unknown>;
const parse = (logs: string[]): Line[] =>
  logs
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
const requestLines = (logs: string[]) => parse(logs).filter((l) => l.msg === "request");

/** The log sink flushes every 25 ms; wait until the expected count of access lines is in, or give up. */
async function settled(logs: string[], atLeast: number): Promise<Line[]> {
  for (let i = 0; i < 100 && requestLines(logs).length < atLeast; i++) await Bun.sleep(10);
  // Lines that should not be there would have arrived by now too.
  await Bun.sleep(60);
  return requestLines(logs);
}

const product = (id: number) => ({
  product_id: id,
  sku: `SKU-${id}`,
  manufacturer: "Acme",
  category_id: 1,
  weight: 10,
  some_other_id: 1,
});

/** 20 of each: found 200, missing 404, invalid 400, health 200; returns every response's request id. */
async function traffic(url: string): Promise<Map<string, number>> {
  const put = await fetch(`${url}/products/7/details`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(product(7)),
  });
  expect(put.status).toBe(204);
  const ids = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    for (const [path, status] of [
      ["/products/7", 200],
      ["/products/9", 404],
      ["/products/abc", 400],
      ["/health", 200],
    ] as const) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(status);
      await res.arrayBuffer();
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
      ids.set(id as string, status);
    }
  }
  return ids;
}

async function withShop(env: Record<string, string>, run: (url: string, logs: string[]) => Promise<void>) {
  const shop = await startTestShop(["api"], env);
  try {
    await run(shop.url, shop.logs);
  } finally {
    await shop.stop();
  }
}

describe("access log on a running shop", () => {
  test("LOG_SAMPLE_RATE=0 at info: no line for fast 2xx or 4xx, yet the metrics count every request", async () => {
    await withShop({ LOG_LEVEL: "info", LOG_SAMPLE_RATE: "0", LOG_SLOW_MS: "60000" }, async (url, logs) => {
      const ids = await traffic(url);
      expect(ids.size).toBe(80);
      expect(await settled(logs, 1)).toEqual([]);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain(
        'http_requests_total{method="GET",route="/products/:productId",status="200"} 20',
      );
      expect(metrics).toContain(
        'http_requests_total{method="GET",route="/products/:productId",status="404"} 20',
      );
      expect(metrics).toContain(
        'http_requests_total{method="GET",route="/products/:productId",status="400"} 20',
      );
      expect(metrics).toContain('http_requests_total{method="GET",route="/health",status="200"} 20');
    });
  });

  test("LOG_SAMPLE_RATE=1: every fast 2xx at info with its request id and the rate; 4xx still not at info", async () => {
    await withShop({ LOG_LEVEL: "info", LOG_SAMPLE_RATE: "1", LOG_SLOW_MS: "60000" }, async (url, logs) => {
      const ids = await traffic(url);
      const lines = await settled(logs, 41);
      const ok = [...ids].filter(([, s]) => s === 200).map(([id]) => id);
      // The 40 GETs answered 200 and the one 204 that stored the product.
      expect(lines).toHaveLength(41);
      for (const line of lines) {
        expect(line).toMatchObject({ level: "info", sample_rate: 1 });
        expect(line.status === 200 || line.status === 204).toBe(true);
      }
      expect(lines.map((l) => l.request_id).filter((id) => ids.has(id as string))).toEqual(ok);
    });
  });

  test("the default rate (0.01) writes a sample of the 2xx, not all of them", async () => {
    await withShop({ LOG_LEVEL: "info" }, async (url, logs) => {
      const n = 2000;
      for (let i = 0; i < n; i++) await (await fetch(`${url}/health`)).arrayBuffer();
      const lines = await settled(logs, 1);
      // Binomial(2000, 0.01): mean 20, sd 4.4; 0 and 60 are both beyond 4 sd.
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThan(60);
      for (const line of lines)
        expect(line).toMatchObject({ level: "info", route: "/health", sample_rate: 0.01 });
    });
  });

  test("LOG_LEVEL=debug writes every request: 4xx and unsampled 2xx at debug", async () => {
    await withShop({ LOG_LEVEL: "debug", LOG_SAMPLE_RATE: "0", LOG_SLOW_MS: "60000" }, async (url, logs) => {
      const ids = await traffic(url);
      const lines = await settled(logs, 81);
      expect(lines).toHaveLength(81);
      for (const line of lines) {
        expect(line.level).toBe("debug");
        expect(line.sample_rate).toBeUndefined();
      }
      for (const [id, status] of ids) expect(lines.find((l) => l.request_id === id)?.status).toBe(status);
    });
  });

  test("LOG_SLOW_MS=0 at warn: every request is slower than 0 ms and written at warn", async () => {
    await withShop({ LOG_LEVEL: "warn", LOG_SLOW_MS: "0" }, async (url, logs) => {
      const ids = await traffic(url);
      const lines = await settled(logs, 81);
      expect(lines).toHaveLength(81);
      for (const line of lines) expect(line.level).toBe("warn");
      for (const [id, status] of ids) expect(lines.find((l) => l.request_id === id)?.status).toBe(status);
    });
  });
});

describe("access log in the HTTP core", () => {
  function core(level: Level, slowMs: number) {
    const logs: string[] = [];
    const logger = createLogger(level, (t) => logs.push(t));
    const http = createHttp({
      logger,
      metrics: createMetrics(),
      bodyLimitBytes: 1024,
      title: "t",
      version: "0",
      accessLog: { slowMs, sampleRate: 0 },
    });
    http.app.get("/boom", () => {
      throw new Error("broken");
    });
    http.app.get("/slow", async (c) => {
      await Bun.sleep(slowMs + 20);
      return c.text("late");
    });
    http.app.get("/fast", (c) => c.text("ok"));
    const flushed = () => {
      logger.flush();
      return parse(logs);
    };
    return { http, logs: flushed };
  }

  test("a 5xx is written at error and a slow request at warn, both with the returned request id", async () => {
    const { http, logs } = core("warn", 30);
    const boom = await http.fetch(
      new Request("http://shop.test/boom", { headers: { "x-request-id": "boom-1" } }),
    );
    expect(boom.status).toBe(500);
    expect(boom.headers.get("x-request-id")).toBe("boom-1");
    const slow = await http.fetch(new Request("http://shop.test/slow"));
    expect(slow.status).toBe(200);
    const slowId = slow.headers.get("x-request-id");
    const fast = await http.fetch(new Request("http://shop.test/fast"));
    expect(fast.status).toBe(200);
    const lines = logs();
    // Every line written carries the request id: the unhandled error's as well as the access lines.
    expect(lines.find((l) => l.msg === "unhandled error")).toMatchObject({
      level: "error",
      request_id: "boom-1",
    });
    const access = lines.filter((l) => l.msg === "request");
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ level: "error", request_id: "boom-1", status: 500 });
    expect(access[1]).toMatchObject({ level: "warn", request_id: slowId, status: 200 });
    expect(access[1]?.duration_ms as number).toBeGreaterThan(30);
  });

  test("LOG_LEVEL=error keeps the 5xx lines and drops the slow ones", async () => {
    const { http, logs } = core("error", 30);
    expect((await http.fetch(new Request("http://shop.test/boom"))).status).toBe(500);
    expect((await http.fetch(new Request("http://shop.test/slow"))).status).toBe(200);
    const access = logs().filter((l) => l.msg === "request");
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ level: "error", status: 500 });
  });
});
