#!/usr/bin/env bun
/**
 * End-to-end smoke test of a running shop, used by CI (against the freshly built binary), by the deploy
 * workflow (against the load balancer) and by hand:
 *
 *   BASE_URL=http://127.0.0.1:8080 ADMIN_TOKEN=… [API_KEY=…] bun scripts/smoke.ts [--only step,step] [--list]
 *
 * Each step creates its own data (ids unique to this run), so it can run against a live environment
 * repeatedly. Every step runs; the exit code is 1 when any failed and the failing steps are named, 2 on
 * wrong usage. WS_URL overrides the WebSocket base (default: BASE_URL with ws/wss).
 */

export interface SmokeOptions {
  baseUrl: string;
  wsUrl: string;
  adminToken: string | undefined;
  /** Sent as X-API-Key on the non-admin calls; without it they carry ADMIN_TOKEN (every scope), if any. */
  apiKey?: string;
  /** Bound for waiting on asynchronous work (an order completing, a bid arriving). */
  timeoutMs: number;
}

export interface Step {
  name: string;
  description: string;
  run(options: SmokeOptions): Promise<string | undefined>;
}

export interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

const REQUEST_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 250;

export class SmokeFailure extends Error {
  override name = "SmokeFailure";
}

function fail(message: string): never {
  throw new SmokeFailure(message);
}

/** A run-unique number in the int32 range, far from the ids a demo catalogue or a person would use. */
function uniqueInt(): number {
  return 1_000_000_000 + Math.floor(Math.random() * 1_000_000_000);
}

const runTag = () => `smoke-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

async function call(
  options: SmokeOptions,
  method: string,
  path: string,
  body?: unknown,
  admin = false,
): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (!admin && options.apiKey) headers["x-api-key"] = options.apiKey;
  else if (options.adminToken) headers.authorization = `Bearer ${options.adminToken}`;
  let res: Response;
  try {
    res = await fetch(`${options.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    fail(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function expectStatus(
  options: SmokeOptions,
  expected: number,
  method: string,
  path: string,
  body?: unknown,
  admin = false,
): Promise<Record<string, unknown>> {
  const res = await call(options, method, path, body, admin);
  if (res.status !== expected) {
    fail(`${method} ${path}: expected ${expected}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
  return (typeof res.json === "object" && res.json !== null ? res.json : {}) as Record<string, unknown>;
}

function expectField<T>(
  where: string,
  obj: Record<string, unknown>,
  field: string,
  check: (v: unknown) => v is T,
): T {
  const value = obj[field];
  if (!check(value)) fail(`${where}: field ${field} is ${JSON.stringify(value)}`);
  return value;
}

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;

async function health(options: SmokeOptions): Promise<string> {
  await expectStatus(options, 200, "GET", "/health");
  await expectStatus(options, 200, "GET", "/ready");
  return "/health and /ready answer 200";
}

async function product(options: SmokeOptions): Promise<string> {
  const id = uniqueInt();
  const body = {
    product_id: id,
    sku: `SMOKE-${id}`,
    manufacturer: "Smoke Test Co",
    category_id: 1,
    weight: 100,
    some_other_id: 1,
  };
  await expectStatus(options, 204, "POST", `/products/${id}/details`, body);
  const got = await expectStatus(options, 200, "GET", `/products/${id}`);
  if (JSON.stringify(got) !== JSON.stringify(body)) {
    fail(`GET /products/${id}: expected ${JSON.stringify(body)}, got ${JSON.stringify(got)}`);
  }
  return `product ${id} stored and read back`;
}

async function cartCheckout(options: SmokeOptions): Promise<string> {
  const productId = uniqueInt();
  await expectStatus(options, 204, "POST", `/products/${productId}/details`, {
    product_id: productId,
    sku: `SMOKE-CART-${productId}`,
    manufacturer: "Smoke Test Co",
    category_id: 1,
    weight: 100,
    some_other_id: 1,
  });
  await expectStatus(options, 204, "PUT", `/warehouse/stock/${productId}`, { quantity: 5 }, true);
  const cart = await expectStatus(options, 201, "POST", "/shopping-carts", { customer_id: 1 });
  const cartId = expectField("POST /shopping-carts", cart, "shopping_cart_id", isInt);
  await expectStatus(options, 204, "POST", `/shopping-carts/${cartId}/items`, {
    product_id: productId,
    quantity: 2,
  });
  const checkout = await expectStatus(options, 200, "POST", `/shopping-carts/${cartId}/checkout`);
  const orderId = expectField("checkout", checkout, "order_id", isInt);
  const order = await expectStatus(options, 200, "GET", `/orders/${orderId}`);
  expectField("GET /orders/{id}", order, "status", (v): v is string =>
    ["pending", "processing", "completed", "failed"].includes(String(v)),
  );
  return `cart ${cartId} checked out as order ${orderId}`;
}

async function asyncOrder(options: SmokeOptions): Promise<string> {
  const orderId = runTag();
  const accepted = await expectStatus(options, 202, "POST", "/orders/async", {
    order_id: orderId,
    customer_id: 1,
    items: [{ product_id: 1, quantity: 1, price: 9.99 }],
  });
  if (accepted.order_id !== orderId || accepted.status !== "pending") {
    fail(
      `POST /orders/async: expected {order_id: ${orderId}, status: pending}, got ${JSON.stringify(accepted)}`,
    );
  }
  expectField("POST /orders/async", accepted, "message_id", isString);
  const started = Date.now();
  let status = "pending";
  while (Date.now() - started < options.timeoutMs) {
    const order = await expectStatus(options, 200, "GET", `/orders/${encodeURIComponent(orderId)}`);
    status = String(order.status);
    if (status === "completed") return `order ${orderId} completed in ${Date.now() - started} ms`;
    if (status === "failed") fail(`order ${orderId} failed: ${JSON.stringify(order.failure_reason)}`);
    await Bun.sleep(POLL_INTERVAL_MS);
  }
  fail(`order ${orderId} still ${status} after ${options.timeoutMs} ms`);
}

/** Collects the frames of one WebSocket until `until` accepts one, bounded by the timeout. */
function subscribe(url: string, timeoutMs: number) {
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let closed: string | undefined;
  const ws = new WebSocket(url);
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  ws.onmessage = (event) => {
    try {
      frames.push(JSON.parse(String(event.data)));
    } catch {
      frames.push({ unparsable: String(event.data) });
    }
    wake();
  };
  ws.onclose = (event) => {
    closed = `closed with code ${event.code} ${event.reason}`;
    wake();
  };
  ws.onerror = () => {
    closed ??= "connection error";
    wake();
  };
  return {
    async next(what: string, match: (frame: Record<string, unknown>) => boolean) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        if (closed) fail(`WebSocket ${url} ${closed} before ${what}`);
        const left = deadline - Date.now();
        if (left <= 0) fail(`WebSocket ${url}: no ${what} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => ws.close(),
  };
}

async function bidWebSocket(options: SmokeOptions): Promise<string> {
  const itemId = runTag();
  await expectStatus(
    options,
    201,
    "POST",
    "/api/v1/items",
    {
      item_id: itemId,
      name: "Smoke test lot",
      start_price: 10,
      ends_at: new Date(Date.now() + 10 * 60_000).toISOString(),
    },
    true,
  );
  const ws = subscribe(`${options.wsUrl}/ws/items/${itemId}`, options.timeoutMs);
  try {
    await ws.next("snapshot frame", (f) => f.type === "snapshot");
    const bid = await expectStatus(options, 201, "POST", `/api/v1/items/${itemId}/bid`, {
      user_id: "smoke-bidder",
      amount: 10.57,
    });
    if (bid.accepted !== true || bid.amount !== 10.57) {
      fail(`bid on ${itemId}: expected accepted 10.57, got ${JSON.stringify(bid)}`);
    }
    const frame = await ws.next("bid frame", (f) => f.type === "bid" && f.bid_id === bid.bid_id);
    if (frame.amount !== 10.57) fail(`bid frame amount ${JSON.stringify(frame.amount)}, expected 10.57`);
    const sentAt = Date.parse(String(frame.timestamp));
    const delivery = Number.isNaN(sentAt) ? "" : ` (delivered ${Date.now() - sentAt} ms after the event)`;
    return `bid ${String(bid.bid_id)} on ${itemId} delivered over WebSocket${delivery}`;
  } finally {
    ws.close();
  }
}

export const STEPS: readonly Step[] = [
  { name: "health", description: "GET /health and /ready answer 200", run: health },
  { name: "product", description: "store a product and read it back", run: product },
  { name: "cart-checkout", description: "stock, cart, item, checkout, order visible", run: cartCheckout },
  { name: "async-order", description: "POST /orders/async, poll until completed", run: asyncOrder },
  { name: "bid-websocket", description: "create an item, bid, receive it over WebSocket", run: bidWebSocket },
];

export async function runSmoke(
  options: SmokeOptions,
  only: readonly string[] = STEPS.map((s) => s.name),
  report: (result: StepResult) => void = () => {},
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of STEPS.filter((s) => only.includes(s.name))) {
    const started = performance.now();
    let result: StepResult;
    try {
      const detail = (await step.run(options)) ?? "";
      result = { name: step.name, ok: true, ms: performance.now() - started, detail };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      result = { name: step.name, ok: false, ms: performance.now() - started, detail };
    }
    results.push(result);
    report(result);
  }
  return results;
}

export function optionsFromEnv(env: Record<string, string | undefined>): SmokeOptions {
  const baseUrl = (env.BASE_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
  const wsUrl = (env.WS_URL || baseUrl.replace(/^http/, "ws")).replace(/\/+$/, "");
  const timeoutMs = Number(env.SMOKE_TIMEOUT_MS || 30_000);
  return {
    baseUrl,
    wsUrl,
    adminToken: env.ADMIN_TOKEN || undefined,
    apiKey: env.API_KEY || undefined,
    timeoutMs,
  };
}

function parseOnly(argv: string[]): string[] | "list" {
  const names = STEPS.map((s) => s.name);
  let only = names;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--list") return "list";
    if (arg === "--only" || arg.startsWith("--only=")) {
      const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : (argv[++i] ?? "");
      only = value.split(",").filter((s) => s !== "");
      const unknown = only.filter((s) => !names.includes(s));
      if (unknown.length > 0 || only.length === 0) {
        throw new SmokeFailure(`unknown step ${unknown.join(", ") || '""'}; steps: ${names.join(", ")}`);
      }
    } else {
      throw new SmokeFailure(`unknown argument "${arg}"; usage: smoke.ts [--only step,step] [--list]`);
    }
  }
  return only;
}

async function main(): Promise<number> {
  let only: string[] | "list";
  try {
    only = parseOnly(process.argv.slice(2));
  } catch (err) {
    console.error(`smoke: ${(err as Error).message}`);
    return 2;
  }
  if (only === "list") {
    for (const s of STEPS) console.log(`${s.name.padEnd(14)} ${s.description}`);
    return 0;
  }
  const options = optionsFromEnv(process.env);
  console.log(`smoke: ${options.baseUrl} (steps: ${only.join(", ")})`);
  const results = await runSmoke(options, only, (r) => {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(14)} ${Math.round(r.ms)} ms  ${r.detail}`);
  });
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  if (failed.length > 0) {
    console.error(`smoke: FAILED step${failed.length > 1 ? "s" : ""}: ${failed.join(", ")}`);
    return 1;
  }
  console.log(`smoke: all ${results.length} steps passed`);
  return 0;
}

if (import.meta.main) process.exit(await main());
