/**
 * scripts/smoke.ts: against the real shop for the steps it serves, against a small stand-in that
 * follows the cart, order and auction contracts for the rest, and its failure reporting.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { optionsFromEnv, runSmoke, type SmokeOptions, STEPS } from "../../scripts/smoke.ts";
import { ROOT, startTestShop, type TestShop } from "../helpers/shop.ts";

const SMOKE = `${ROOT}scripts/smoke.ts`;

interface FakeFaults {
  /** The order the pipeline finishes is marked failed. */
  orderFails?: boolean;
  /** Accepted bids are never broadcast. */
  dropBroadcasts?: boolean;
  /** Every product request answers 500. */
  productsBroken?: boolean;
}

/** A stand-in for the features still being built, holding to the contracts the smoke script relies on. */
function fakeShop(faults: FakeFaults = {}, adminToken?: string): Server<{ itemId: string }> {
  const products = new Map<number, unknown>();
  const stock = new Map<number, number>();
  const carts = new Map<number, { product_id: number; quantity: number }[]>();
  const orders = new Map<string, { status: string; polls: number }>();
  const items = new Map<string, { current: number }>();
  let nextId = 1;
  const json = (body: unknown, status = 200) => Response.json(body, { status });
  type Handler = (
    m: RegExpMatchArray,
    body: unknown,
    req: Request,
    srv: Server<{ itemId: string }>,
  ) => Response | undefined;
  const routes: [string, RegExp, Handler][] = [
    ["GET", /^\/(health|ready)$/, () => json({ status: "ok" })],
    [
      "POST",
      /^\/products\/(\d+)\/details$/,
      (m, body) => {
        if (faults.productsBroken) return json({ error: "INTERNAL", message: "broken" }, 500);
        products.set(Number(m[1]), body);
        return new Response(null, { status: 204 });
      },
    ],
    [
      "GET",
      /^\/products\/(\d+)$/,
      (m) => {
        if (faults.productsBroken) return json({ error: "INTERNAL", message: "broken" }, 500);
        const p = products.get(Number(m[1]));
        return p ? json(p) : json({ error: "NOT_FOUND", message: "no product" }, 404);
      },
    ],
    [
      "PUT",
      /^\/warehouse\/stock\/(\d+)$/,
      (m, body, req) => {
        if (adminToken && req.headers.get("authorization") !== `Bearer ${adminToken}`) {
          return json({ error: "UNAUTHORIZED", message: "admin token required" }, 401);
        }
        stock.set(Number(m[1]), (body as { quantity: number }).quantity);
        return new Response(null, { status: 204 });
      },
    ],
    [
      "POST",
      /^\/shopping-carts$/,
      () => {
        const id = nextId++;
        carts.set(id, []);
        return json({ shopping_cart_id: id }, 201);
      },
    ],
    [
      "POST",
      /^\/shopping-carts\/(\d+)\/items$/,
      (m, body) => {
        carts.get(Number(m[1]))?.push(body as { product_id: number; quantity: number });
        return new Response(null, { status: 204 });
      },
    ],
    [
      "POST",
      /^\/shopping-carts\/(\d+)\/checkout$/,
      () => {
        const id = nextId++;
        orders.set(String(id), { status: "pending", polls: 0 });
        return json({ order_id: id });
      },
    ],
    [
      "POST",
      /^\/orders\/async$/,
      (_m, body) => {
        const orderId = (body as { order_id: string }).order_id;
        orders.set(orderId, { status: "pending", polls: 0 });
        return json({ order_id: orderId, status: "pending", message_id: `msg-${orderId}` }, 202);
      },
    ],
    [
      "GET",
      /^\/orders\/(.+)$/,
      (m) => {
        const order = orders.get(decodeURIComponent(m[1] ?? ""));
        if (!order) return json({ error: "NOT_FOUND", message: "no order" }, 404);
        // The pipeline finishes the order on the second look, so the script has to poll.
        order.polls++;
        if (order.polls > 1) order.status = faults.orderFails ? "failed" : "completed";
        return json({ ...order, failure_reason: faults.orderFails ? "PAYMENT_DECLINED" : undefined });
      },
    ],
    [
      "POST",
      /^\/api\/v1\/items$/,
      (_m, body) => {
        const item = body as { item_id: string; start_price: number };
        items.set(item.item_id, { current: 0 });
        return json({ ...item, status: "open" }, 201);
      },
    ],
    [
      "POST",
      /^\/api\/v1\/items\/([\w-]+)\/bid$/,
      (m, body, _req, srv) => {
        const itemId = m[1] ?? "";
        const bid = body as { user_id: string; amount: number };
        const event = {
          type: "bid",
          event_id: `${Date.now()}-0`,
          item_id: itemId,
          bid_id: `bid-${nextId++}`,
          user_id: bid.user_id,
          amount: bid.amount,
          previous_bid: null,
          timestamp: new Date().toISOString(),
        };
        if (!faults.dropBroadcasts) srv.publish(itemId, JSON.stringify(event));
        return json({ accepted: true, ...event }, 201);
      },
    ],
    [
      "GET",
      /^\/ws\/items\/([\w-]+)$/,
      (m, _body, req, srv) => {
        const itemId = m[1] ?? "";
        if (!items.has(itemId)) return json({ error: "NOT_FOUND", message: "no item" }, 404);
        return srv.upgrade(req, { data: { itemId } }) ? undefined : json({ error: "UPGRADE" }, 400);
      },
    ],
  ];
  const server: Server<{ itemId: string }> = Bun.serve<{ itemId: string }>({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, srv) {
      const path = new URL(req.url).pathname;
      const body = req.headers.get("content-type") === "application/json" ? await req.json() : undefined;
      for (const [method, pattern, handler] of routes) {
        const m = req.method === method ? path.match(pattern) : null;
        if (m) return handler(m, body, req, srv);
      }
      return json({ error: "NOT_FOUND", message: `no route ${req.method} ${path}` }, 404);
    },
    websocket: {
      open(ws) {
        ws.subscribe(ws.data.itemId);
        ws.send(JSON.stringify({ type: "snapshot", item_id: ws.data.itemId, current_bid: null }));
      },
      message() {},
    },
  });
  return server;
}

const optionsFor = (url: string, extra: Partial<SmokeOptions> = {}): SmokeOptions => ({
  ...optionsFromEnv({ BASE_URL: url }),
  timeoutMs: 2000,
  ...extra,
});

async function runCli(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, SMOKE, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

describe("smoke against the real shop", () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await startTestShop(["api"]);
  });
  afterAll(() => shop.stop());

  test("health and product steps pass", async () => {
    const results = await runSmoke(optionsFor(shop.url), ["health", "product"]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(["health", "product"]);
  });
});

describe("smoke against the contracts", () => {
  test("every step passes against a shop that honours them, admin token included", async () => {
    const server = fakeShop({}, "s3cret");
    try {
      const results = await runSmoke(optionsFor(`http://127.0.0.1:${server.port}`, { adminToken: "s3cret" }));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.map((r) => r.name)).toEqual(STEPS.map((s) => s.name));
    } finally {
      server.stop(true);
    }
  });

  test("a failed order, a lost broadcast and a missing admin token each fail their own step", async () => {
    const server = fakeShop({ orderFails: true, dropBroadcasts: true }, "s3cret");
    try {
      const results = await runSmoke(optionsFor(`http://127.0.0.1:${server.port}`));
      const failed = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.name, r.detail]));
      expect(Object.keys(failed)).toEqual(["cart-checkout", "async-order", "bid-websocket"]);
      expect(failed["cart-checkout"]).toContain("expected 204, got 401");
      expect(failed["async-order"]).toContain("PAYMENT_DECLINED");
      expect(failed["bid-websocket"]).toContain("no bid frame within 2000 ms");
    } finally {
      server.stop(true);
    }
  });
});

describe("smoke command line", () => {
  test("exits 1 naming the failing step", async () => {
    const server = fakeShop({ productsBroken: true });
    try {
      const { code, stdout, stderr } = await runCli(["--only", "health,product"], {
        BASE_URL: `http://127.0.0.1:${server.port}`,
      });
      expect(code).toBe(1);
      expect(stdout).toContain("ok   health");
      expect(stdout).toContain("FAIL product");
      expect(stderr).toContain("FAILED step: product");
    } finally {
      server.stop(true);
    }
  });

  test("a server that is down fails the health step", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const url = `http://127.0.0.1:${server.port}`;
    server.stop(true);
    const { code, stderr } = await runCli(["--only=health"], { BASE_URL: url });
    expect(code).toBe(1);
    expect(stderr).toContain("FAILED step: health");
  });

  test("an unknown step is a usage error", async () => {
    const { code, stderr } = await runCli(["--only", "health,nope"], {});
    expect(code).toBe(2);
    expect(stderr).toContain("unknown step nope");
  });

  test("WebSocket base follows the HTTP scheme unless WS_URL is set", () => {
    expect(optionsFromEnv({ BASE_URL: "https://shop.example/" }).wsUrl).toBe("wss://shop.example");
    expect(optionsFromEnv({}).baseUrl).toBe("http://127.0.0.1:8080");
    expect(optionsFromEnv({ BASE_URL: "http://a", WS_URL: "wss://b/" }).wsUrl).toBe("wss://b");
  });
});
