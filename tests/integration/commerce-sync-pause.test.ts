/**
 * The sync order path and a keyed checkout on DynamoDB Local, frozen (SIGSTOP) past the commerce-db
 * policy's 3 s timeout at one step each: the order's create (until the client has its 503, so every resend
 * failed), the charge's ledger write, the final transition, the checkout transaction. shop runs every role
 * in this process (api, relay, processor on the in-process queue). Afterwards: no order stays processing,
 * every charge in the ledger belongs to a completed order and matches its transaction, nothing waits in
 * the outbox, and a resend answers the order's truth (or, for the checkout, its 200).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ChargeRecord } from "../../src/domain/payments.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { createCommerceTables } from "../helpers/aws.ts";
import { type Child, startDynamoDbLocal } from "../helpers/deps.ts";
import { eventually, get, post, put } from "../helpers/http.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";
import { COMMERCE_ADMIN_TOKEN, COMMERCE_ENV } from "./commerce-suite.ts";

let dynamo: Child;
let shop: TestShop;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  const tables = await createCommerceTables(dynamo.url);
  shop = await startTestShop(["all"], { ...COMMERCE_ENV, ...tables, OUTBOX_SWEEP_MS: "200" });
}, 120_000);

afterAll(async () => {
  dynamo.resume();
  await shop?.stop();
  await dynamo?.kill();
});

const modules = () => shop.shop.manager;
const order = (id: string) => ({
  order_id: id,
  customer_id: 5,
  items: [{ product_id: "SKU-1", quantity: 2, price: 12.5 }],
});

/** Replaces `obj[name]` until its first call has run: that call runs `before` first. */
function once<T extends object, K extends keyof T>(obj: T, name: K, before: () => Promise<void>): void {
  const original = obj[name] as (...args: unknown[]) => Promise<unknown>;
  (obj as Record<K, unknown>)[name] = async (...args: unknown[]) => {
    (obj as Record<K, unknown>)[name] = original;
    await before();
    return original.apply(obj, args);
  };
}

/** Retries what a frozen-then-thawed store answers with 503 (its breaker half-open, say). */
const settled = (url: string) =>
  eventually(
    async () => {
      const r = await get(url);
      return r.status === 503 ? undefined : r;
    },
    30_000,
    `an answer from ${url}`,
  );

/** The order once it is final: the takeover (processor or resend) must get there. */
const final = (id: string) =>
  eventually(
    async () => {
      const r = await get(`${shop.url}/orders/${id}`);
      const status = (r.body as { status?: string }).status;
      return status === "completed" || status === "failed" ? (r.body as Record<string, unknown>) : undefined;
    },
    60_000,
    `order ${id} final`,
  );

/** No charge without a completed order: the key's one approved charge is the order's transaction. */
async function chargedOnce(id: string, transactionId: unknown) {
  const ledger = modules().get("chargeLedger");
  const charge = (await ledger.get(`order:${id}`)) as ChargeRecord | undefined;
  expect(charge?.result).toEqual({ approved: true, transaction_id: transactionId as string });
  expect(charge?.amount_cents).toBe(2500);
}

async function outboxEmpty() {
  await eventually(
    async () => ((await modules().get("outboxStore").pending(100)).length === 0 ? true : undefined),
    30_000,
    "an empty outbox",
  );
}

describe("the sync path and a keyed checkout, DynamoDB Local paused past the policy timeout", () => {
  test("create: every resend fails (503), the order lands afterwards; the processor takes it over, charged once", async () => {
    await dynamo.pause();
    const first = await post(`${shop.url}/orders/sync`, order("sync-create"));
    dynamo.resume();
    expect(first.status).toBe(503);
    // The write landed after the pause: the order exists, processing, with its takeover record.
    const landed = await eventually(
      async () => {
        const r = await settled(`${shop.url}/orders/sync-create`);
        return r.status === 200 ? r : undefined;
      },
      30_000,
      "the landed order",
    );
    expect(landed.body).toMatchObject({ status: "processing" });
    // No resend: the processor finishes it once takeover_at passes.
    const done = await final("sync-create");
    expect(done).toMatchObject({ status: "completed", total: 25 });
    await chargedOnce("sync-create", done.transaction_id);
    const resend = await post(`${shop.url}/orders/sync`, order("sync-create"));
    expect(resend).toEqual({ status: 200, body: done });
    await outboxEmpty();
  }, 120_000);

  test("charge: the ledger write times out and lands: 503, the order kept; without a resend the processor completes it from the ledger", async () => {
    once(modules().get("chargeLedger"), "record", () => dynamo.pause());
    const first = await post(`${shop.url}/orders/sync`, order("sync-charge"));
    dynamo.resume();
    expect(first.status).toBe(503);
    const processing = await settled(`${shop.url}/orders/sync-charge`);
    expect(processing.body).toMatchObject({ status: "processing" });
    // The customer was charged (the ledger write landed): the order must not be left without it.
    const done = await final("sync-charge");
    expect(done).toMatchObject({ status: "completed" });
    await chargedOnce("sync-charge", done.transaction_id);
    expect(await post(`${shop.url}/orders/sync`, order("sync-charge"))).toEqual({ status: 200, body: done });
    await outboxEmpty();
  }, 120_000);

  test("finish: the transition times out: 503; the order ends completed with its one charge, and the resend says so", async () => {
    once(modules().get("orderStore"), "transition", () => dynamo.pause());
    const answer = await post(`${shop.url}/orders/sync`, order("sync-finish"));
    dynamo.resume();
    expect(answer.status).toBe(503);
    const done = await final("sync-finish");
    expect(done).toMatchObject({ status: "completed" });
    await chargedOnce("sync-finish", done.transaction_id);
    expect(await post(`${shop.url}/orders/sync`, order("sync-finish"))).toEqual({ status: 200, body: done });
    await outboxEmpty();
  }, 120_000);

  test("checkout with an Idempotency-Key: its transaction lands after the 503; the resend with the key answers 200 with that order", async () => {
    const auth = { authorization: `Bearer ${COMMERCE_ADMIN_TOKEN}` };
    const product = 7001;
    expect((await post(`${shop.url}/products/${product}/details`, demoProduct(product))).status).toBe(204);
    expect(
      (await put(`${shop.url}/warehouse/stock/${product}`, { quantity: 5, price: 2.5 }, auth)).status,
    ).toBe(204);
    const cart = (await post(`${shop.url}/shopping-carts`, { customer_id: 9 })).body as {
      shopping_cart_id: number;
    };
    const cartUrl = `${shop.url}/shopping-carts/${cart.shopping_cart_id}`;
    expect((await post(`${cartUrl}/items`, { product_id: product, quantity: 2 })).status).toBe(204);
    // Frozen once the order id is allocated: the checkout transaction itself is sent into the pause.
    const ids = modules().get("idAllocator");
    const next = ids.next.bind(ids);
    ids.next = async (scope) => {
      const id = await next(scope);
      ids.next = next;
      await dynamo.pause();
      return id;
    };
    const key = { "idempotency-key": "sync-pause-checkout" };
    const first = await post(`${cartUrl}/checkout`, undefined, key);
    dynamo.resume();
    expect(first.status).toBe(503);
    const checkedOut = await eventually(
      async () => {
        const r = await settled(cartUrl);
        return (r.body as { status?: string }).status === "checked_out" ? r.body : undefined;
      },
      30_000,
      "the landed checkout",
    );
    const orderId = (checkedOut as { order_id: number }).order_id;
    expect(await post(`${cartUrl}/checkout`)).toMatchObject({
      status: 400,
      body: { error: "CART_CHECKED_OUT", data: { order_id: orderId } },
    });
    const resend = await eventually(
      async () => {
        const r = await post(`${cartUrl}/checkout`, undefined, key);
        return r.status === 503 ? undefined : r;
      },
      40_000,
      "the resend's answer",
    );
    expect(resend).toEqual({ status: 200, body: { order_id: orderId } });
    expect(await final(String(orderId))).toMatchObject({ status: "completed" });
    expect((await get(`${shop.url}/warehouse/stock/${product}`)).body).toMatchObject({
      available: 3,
      reserved: 0,
      shipped: 2,
    });
    await outboxEmpty();
  }, 120_000);
});
