/**
 * What an idle subscriber keeps alive: its socket and subscription, never the upgrade request. Closures
 * made inside the async route handler held its suspended frame, and with it the Request, its Headers and
 * the Hono context, for the socket's whole life (≈ 3 KB each; docs/benchmarks.md, "Memory"). Counted
 * with JavaScriptCore's heap statistics after a full collection, so the figure is objects, not bytes.
 */

import { heapStats } from "bun:jsc";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type RunningShop, startShop } from "../../src/shop.ts";

const SOCKETS = 300;
let shop: RunningShop;
let base: string;

beforeAll(async () => {
  shop = await startShop(["all"], {
    env: { PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", SHUTDOWN_DRAIN_MS: "0" },
    write: () => {},
  });
  base = `127.0.0.1:${shop.port}`;
  const res = await fetch(`http://${base}/api/v1/items`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ item_id: "mem-1", name: "m", start_price: 1, ends_at: "2099-01-01T00:00:00Z" }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await shop.shutdown(0, "test");
});

const live = (type: string) => {
  Bun.gc(true);
  return heapStats().objectTypeCounts[type] ?? 0;
};

test("idle subscribers keep no upgrade Request, Headers or route context alive", async () => {
  const before = { request: live("Request"), headers: live("Headers") };
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from(
      { length: SOCKETS },
      () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`ws://${base}/ws/items/mem-1`);
          sockets.push(ws);
          ws.onmessage = () => resolve();
          ws.onerror = () => reject(new Error("websocket failed"));
        }),
    ),
  );
  try {
    const after = { request: live("Request"), headers: live("Headers") };
    // Each subscriber is open and has its snapshot; what remains of its upgrade must be (nearly) nothing.
    expect(after.request - before.request).toBeLessThan(SOCKETS / 10);
    expect(after.headers - before.headers).toBeLessThan(SOCKETS / 10);
    expect(live("ServerWebSocket")).toBeGreaterThanOrEqual(SOCKETS);
  } finally {
    for (const ws of sockets) ws.close();
  }
});
