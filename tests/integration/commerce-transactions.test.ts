/**
 * The commerce transactions on DynamoDB Local, each sent while the emulator is frozen (SIGSTOP) for longer
 * than the commerce-db policy's 3 s timeout: the attempt times out with its outcome unknown, the adapter
 * resends the same transaction under the same token once the emulator runs again, and the answer is the
 * definite outcome, applied exactly once whether or not the first attempt landed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DynamoCartStore } from "../../src/adapters/dynamodb/carts.ts";
import { COMMERCE_DB_POLICY, createDynamoDb, type DynamoDb } from "../../src/adapters/dynamodb/client.ts";
import { DynamoInventoryStore } from "../../src/adapters/dynamodb/inventory.ts";
import { DynamoOrderStore } from "../../src/adapters/dynamodb/orders.ts";
import { DynamoOutbox } from "../../src/adapters/dynamodb/outbox.ts";
import { DynamoCommerceWrites } from "../../src/adapters/dynamodb/transactions.ts";
import { loadConfig } from "../../src/config.ts";
import type { Order } from "../../src/domain/orders.ts";
import { orderMessageRecord } from "../../src/domain/outbox.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { createCommerceTables } from "../helpers/aws.ts";
import { type Child, startDynamoDbLocal } from "../helpers/deps.ts";

let child: Child;
let db: DynamoDb;
let writes: DynamoCommerceWrites;
let carts: DynamoCartStore;
let inventory: DynamoInventoryStore;
let orders: DynamoOrderStore;
let outbox: DynamoOutbox;

beforeAll(async () => {
  child = await startDynamoDbLocal();
  const env = await createCommerceTables(child.url);
  const resilience = createResilience(undefined, createMetrics().registry, createLogger("silent"));
  db = createDynamoDb(loadConfig(env), resilience);
  const t = (name: string) => env[name] ?? "";
  writes = new DynamoCommerceWrites(
    db.doc,
    {
      orders: t("ORDERS_TABLE"),
      inventory: t("INVENTORY_TABLE"),
      carts: t("CARTS_TABLE"),
      outbox: t("OUTBOX_TABLE"),
    },
    resilience.policy("commerce-db", COMMERCE_DB_POLICY),
  );
  carts = new DynamoCartStore(db.doc, t("CARTS_TABLE"));
  inventory = new DynamoInventoryStore(db.doc, t("INVENTORY_TABLE"));
  orders = new DynamoOrderStore(db.doc, t("ORDERS_TABLE"));
  outbox = new DynamoOutbox(db.doc, t("OUTBOX_TABLE"));
}, 90_000);

afterAll(async () => {
  child.resume();
  db.raw.destroy();
  await child.kill();
});

/** Runs `call` with the emulator frozen for 3.5 s from its start: longer than one attempt's timeout. */
async function throughPause<T>(call: () => Promise<T>): Promise<T> {
  await child.pause();
  const pending = call();
  await Bun.sleep(3500);
  child.resume();
  return pending;
}

const cartOrder = (orderId: string, cartId: number, productId: number, quantity: number): Order => ({
  order_id: orderId,
  customer_id: 1,
  items: [{ product_id: productId, quantity, price_cents: 100 }],
  total_cents: 100 * quantity,
  status: "pending",
  source: "cart",
  request_hash: `cart:${cartId}`,
  cart_id: cartId,
  stock: "reserved",
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
});

describe("commerce transactions on DynamoDB Local, each sent into a pause", () => {
  test("checkout: done, the cart closed, the stock reserved once, the order and its outbox record written", async () => {
    await inventory.setStock(1, 10, 100);
    await carts.create({
      shopping_cart_id: 1,
      customer_id: 1,
      items: { "1": 3 },
      status: "open",
      created_at: "",
    });
    const record = orderMessageRecord("1001");
    const order = { ...cartOrder("1001", 1, 1, 3), message_id: record.id };
    const outcome = await throughPause(() =>
      writes.checkout({ cartId: 1, cartItems: { "1": 3 }, order, outbox: record }, "checkout-1-1001"),
    );
    expect(outcome).toEqual({ kind: "done" });
    expect(await inventory.get(1)).toMatchObject({ available: 7, reserved: 3 });
    expect(await carts.get(1)).toMatchObject({ status: "checked_out", order_id: 1001 });
    expect(await orders.get("1001")).toMatchObject({
      status: "pending",
      stock: "reserved",
      message_id: record.id,
    });
    expect((await outbox.pending(10)).map((r) => r.id)).toContain(record.id);
    // Another attempt at the same cart (a new order id, so a new token): the cart is no longer open.
    const again = await writes.checkout(
      {
        cartId: 1,
        cartItems: { "1": 3 },
        order: cartOrder("1002", 1, 1, 3),
        outbox: orderMessageRecord("1002"),
      },
      "checkout-1-1002",
    );
    expect(again).toEqual({ kind: "cart_changed" });
    expect(await inventory.get(1)).toMatchObject({ available: 7, reserved: 3 });
  }, 60_000);

  test("accept: created; a resend of the same order (its own outbox id) finds it with the first message id", async () => {
    const record = orderMessageRecord("acc-1");
    const order: Order = {
      ...cartOrder("acc-1", 0, 1, 1),
      source: "async",
      request_hash: "h",
      message_id: record.id,
    };
    expect(await throughPause(() => writes.acceptOrder(order, record, "accept-acc-1"))).toEqual({
      created: true,
    });
    const resend = orderMessageRecord("acc-1");
    const again = await writes.acceptOrder({ ...order, message_id: resend.id }, resend, "accept-acc-1-b");
    expect(again).toMatchObject({ created: false, existing: { message_id: record.id } });
    expect((await outbox.pending(100)).map((r) => r.id)).not.toContain(resend.id);
  }, 60_000);

  test("finish: completed with the stock shipped once; a redelivery's finish changes nothing", async () => {
    await inventory.setStock(2, 5, 100);
    await carts.create({
      shopping_cart_id: 2,
      customer_id: 1,
      items: { "2": 2 },
      status: "open",
      created_at: "",
    });
    const record = orderMessageRecord("2001");
    const order = { ...cartOrder("2001", 2, 2, 2), message_id: record.id };
    expect(await writes.checkout({ cartId: 2, cartItems: { "2": 2 }, order, outbox: record }, "c-2")).toEqual(
      {
        kind: "done",
      },
    );
    expect(await orders.transition("2001", ["pending"], { status: "processing" })).toBeDefined();
    const done = await throughPause(() =>
      writes.finishOrder(order, { status: "completed", transaction_id: "txn_1" }, "finish-2001"),
    );
    expect(done).toMatchObject({ status: "completed", stock: "shipped", transaction_id: "txn_1" });
    expect(await inventory.get(2)).toMatchObject({ available: 3, reserved: 0, shipped: 2 });
    // The same step again, as a redelivery sends it (same token, a later timestamp): nothing moves twice.
    await Bun.sleep(5);
    expect(
      await writes.finishOrder(order, { status: "completed", transaction_id: "txn_1" }, "finish-2001"),
    ).toBe(undefined);
    expect(await inventory.get(2)).toMatchObject({ available: 3, reserved: 0, shipped: 2 });
    expect(await orders.get("2001")).toMatchObject({ status: "completed", stock: "shipped" });
  }, 60_000);
});
