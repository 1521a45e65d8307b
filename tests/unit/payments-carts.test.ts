/** The payments, carts, warehouse and auction-item use cases on the memory adapters, no HTTP. */
import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { MemoryAuctionBook, MemoryBidStream } from "../../src/adapters/memory/auctions.ts";
import { MemoryChargeLedger } from "../../src/adapters/memory/charges.ts";
import {
  createGatewayMetrics,
  paymentPolicy,
  SimulatedGateway,
} from "../../src/adapters/sim/payment-gateway.ts";
import type { AuctionBook } from "../../src/domain/auctions.ts";
import { MAX_LINE_QUANTITY } from "../../src/domain/carts.ts";
import type { ChargeRecord, PaymentGateway } from "../../src/domain/payments.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { AuctionItems } from "../../src/services/auction-items.ts";
import { OrderWorker } from "../../src/services/processor.ts";
import { WarehouseService } from "../../src/services/warehouse.ts";
import { bookOf } from "../helpers/auction-items.ts";
import { memoryCommerce, refusal } from "../helpers/use-cases.ts";

describe("payments", () => {
  test("charges the cart's total at the warehouse's prices and answers the transaction", async () => {
    const shop = memoryCommerce();
    const id = await shop.cart([
      [await shop.product(1, 5, 199), 2],
      [await shop.product(2, 5, 1), 3],
    ]);
    const { transaction_id } = await shop.payments.pay({ cartId: id, card: "4242424242424242" });
    expect(transaction_id).toMatch(/^txn_/);
    expect(await shop.ledger.get(`cart:${id}`)).toMatchObject({ amount_cents: 2 * 199 + 3 });
  });

  test("NOT_FOUND for an unknown cart, CART_EMPTY for an empty one", async () => {
    const shop = memoryCommerce();
    expect((await refusal(shop.payments.pay({ cartId: 404, card: "4242424242424242" }))).code).toBe(
      "NOT_FOUND",
    );
    const empty = await shop.cart();
    expect((await refusal(shop.payments.pay({ cartId: empty, card: "4242424242424242" }))).code).toBe(
      "CART_EMPTY",
    );
  });

  test.each([
    ["4000000000000002", "card declined by issuer"],
    ["4242424242424241", "card number failed validation"],
  ])("%s is PAYMENT_DECLINED with the reason as details", async (card, reason) => {
    const shop = memoryCommerce();
    const id = await shop.cart([[await shop.product(1, 5), 1]]);
    expect(await refusal(shop.payments.pay({ cartId: id, card }))).toMatchObject({
      code: "PAYMENT_DECLINED",
      details: reason,
    });
    // A decline is not recorded: the same cart can be paid with another card.
    expect((await shop.payments.pay({ cartId: id, card: "4242424242424242" })).transaction_id).toMatch(
      /^txn_/,
    );
  });

  test("a cart is charged once whatever the keys; a key replays its first answer; another card under it is CONFLICT", async () => {
    const shop = memoryCommerce();
    const id = await shop.cart([[await shop.product(1, 5), 1]]);
    const card = "4242424242424242";
    const first = await shop.payments.pay({ cartId: id, card, idempotencyKey: "p1" });
    expect(await shop.payments.pay({ cartId: id, card, idempotencyKey: "p1" })).toEqual(first);
    expect(await shop.payments.pay({ cartId: id, card, idempotencyKey: "p2" })).toEqual(first);
    expect(await shop.payments.pay({ cartId: id, card })).toEqual(first);
    const other = shop.payments.pay({ cartId: id, card: "4111111111111111", idempotencyKey: "p1" });
    expect((await refusal(other)).code).toBe("CONFLICT");
  });
});

describe("payments and the order pipeline charge a cart once, and only for a live order", () => {
  const approving = "4242424242424242";
  const declining = "4000000000000002";

  /** A cart of 2 × 25.00 checked out with `card`: its order is pending, its stock reserved. */
  async function checkedOut(card: string) {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 5, 2500);
    const cartId = await shop.cart([[pid, 2]]);
    const { order_id } = await shop.checkout.checkout(cartId, card);
    return { shop, pid, cartId, orderId: String(order_id) };
  }

  /** The processor's gateway, held after each charge it decides until `release` is called. */
  function heldAfterCharge(inner: PaymentGateway) {
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let charged = () => {};
    const decided = new Promise<void>((r) => {
      charged = r;
    });
    const gateway: PaymentGateway = {
      charge: async (request) => {
        const result = await inner.charge(request);
        charged();
        await held;
        return result;
      },
    };
    return { gateway, decided, release };
  }

  test("a payment after the pipeline declined, before the order is failed: ORDER_FAILED, nothing charged", async () => {
    const { shop, pid, cartId, orderId } = await checkedOut(declining);
    const hold = heldAfterCharge(shop.gateway);
    const processing = new OrderWorker(shop.orders, shop.writes, hold.gateway).process(orderId);
    await hold.decided;
    expect(await shop.orders.get(orderId)).toMatchObject({ status: "processing" });
    expect(await refusal(shop.payments.pay({ cartId, card: approving }))).toMatchObject({
      code: "ORDER_FAILED",
      details: "payment declined: card declined by issuer",
      data: { order_id: Number(orderId) },
    });
    hold.release();
    expect(await processing).toBe("failed");
    expect((await shop.ledger.get(`cart:${cartId}`))?.result).toMatchObject({ approved: false, final: true });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 5, reserved: 0, shipped: 0 });
    // Once failed, the refusal comes from the order itself, with its failure reason.
    expect(await refusal(shop.payments.pay({ cartId, card: approving }))).toMatchObject({
      code: "ORDER_FAILED",
      details: "payment declined: card declined by issuer",
    });
  });

  test("a payment before the pipeline charges: the order's charge replays it, the order completes and ships", async () => {
    const { shop, pid, cartId, orderId } = await checkedOut(declining);
    const { transaction_id } = await shop.payments.pay({ cartId, card: approving });
    expect(await new OrderWorker(shop.orders, shop.writes, shop.gateway).process(orderId)).toBe("completed");
    expect(await shop.orders.get(orderId)).toMatchObject({ status: "completed", transaction_id });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 3, reserved: 0, shipped: 2 });
  });

  test("a live order's cart is charged the order's total, not today's prices", async () => {
    const { shop, pid, cartId } = await checkedOut(approving);
    await shop.inventory.setStock(pid, 3, 9999);
    await shop.payments.pay({ cartId, card: approving });
    expect(await shop.ledger.get(`cart:${cartId}`)).toMatchObject({ amount_cents: 5000 });
  });

  test("only a charge that settles its order closes the key: a payment's own decline leaves it open", async () => {
    const shop = memoryCommerce();
    const key = "order:k";
    expect(await shop.gateway.charge({ idempotencyKey: key, amountCents: 1, card: declining })).toEqual({
      approved: false,
      reason: "card declined by issuer",
    });
    expect(await shop.ledger.get(key)).toBeUndefined();
    const settled = await shop.gateway.charge({
      idempotencyKey: key,
      amountCents: 1,
      card: declining,
      settlesOrder: true,
    });
    expect(settled).toEqual({ approved: false, reason: "card declined by issuer", final: true });
    expect(await shop.gateway.charge({ idempotencyKey: key, amountCents: 1, card: approving })).toEqual(
      settled,
    );
    // An approval kept first wins over a settling decline.
    await shop.gateway.charge({ idempotencyKey: "order:paid", amountCents: 1, card: approving });
    expect(
      await shop.gateway.charge({
        idempotencyKey: "order:paid",
        amountCents: 1,
        card: declining,
        settlesOrder: true,
      }),
    ).toMatchObject({ approved: true });
  });
});

describe("paying a cart ahead of its checkout fixes what its order costs", () => {
  const approving = "4242424242424242";

  test("the cart takes no more items (CART_PAID); its order is priced from the paid lines and replays the charge", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 10, 1000);
    const cartId = await shop.cart([[pid, 1]]);
    const { transaction_id } = await shop.payments.pay({ cartId, card: approving });
    expect(await refusal(shop.cartService.addItem(cartId, pid, 2))).toMatchObject({
      code: "CART_PAID",
      message: `shopping cart ${cartId} is paid: it takes no more items (a new cart does)`,
    });
    await shop.inventory.setStock(pid, 10, 3000);
    expect((await shop.cartService.get(cartId)).lines).toEqual([
      { product_id: pid, quantity: 1, price_cents: 1000 },
    ]);
    const { order_id } = await shop.checkout.checkout(cartId, undefined);
    expect(await shop.orders.get(String(order_id))).toMatchObject({ total_cents: 1000 });
    expect(await new OrderWorker(shop.orders, shop.writes, shop.gateway).process(String(order_id))).toBe(
      "completed",
    );
    expect(await shop.orders.get(String(order_id))).toMatchObject({ status: "completed", transaction_id });
    // A second payment replays the first: the lines, and so the amount, are fixed.
    expect(await shop.payments.pay({ cartId, card: approving })).toEqual({ transaction_id });
  });

  test("a payment's decline leaves the lines fixed: another card pays the same amount", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 10, 1000);
    const cartId = await shop.cart([[pid, 2]]);
    expect((await refusal(shop.payments.pay({ cartId, card: "4000000000000002" }))).code).toBe(
      "PAYMENT_DECLINED",
    );
    expect((await refusal(shop.cartService.addItem(cartId, pid, 1))).code).toBe("CART_PAID");
    await shop.payments.pay({ cartId, card: approving });
    expect(await shop.ledger.get(`cart:${cartId}`)).toMatchObject({ amount_cents: 2000 });
  });

  test("the lines are fixed only if no add landed since they were priced: the payment reads again", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 10, 1000);
    const cartId = await shop.cart([[pid, 1]]);
    const lines = [{ product_id: pid, quantity: 1, price_cents: 1000 }];
    expect(await shop.carts.fixPaidLines(cartId, { [pid]: 1, 99: 1 }, lines)).toBe(false);
    // An add that lands between the payment's read and its fixing of the lines.
    const fix = shop.carts.fixPaidLines.bind(shop.carts);
    let adds = 1;
    shop.carts.fixPaidLines = async (...args) => {
      if (adds-- > 0) await shop.cartService.addItem(cartId, pid, 1);
      return fix(...args);
    };
    await shop.payments.pay({ cartId, card: approving });
    expect(await shop.ledger.get(`cart:${cartId}`)).toMatchObject({ amount_cents: 2000 });
    expect((await shop.carts.get(cartId))?.paid_lines).toEqual([
      { product_id: pid, quantity: 2, price_cents: 1000 },
    ]);
    // A cart that never stops changing is TRY_AGAIN, and nothing is charged.
    const busy = await shop.cart([[pid, 1]]);
    adds = Number.POSITIVE_INFINITY;
    shop.carts.fixPaidLines = async (...args) => {
      await shop.cartService.addItem(busy, pid, 1);
      return fix(...args);
    };
    expect((await refusal(shop.payments.pay({ cartId: busy, card: approving }))).code).toBe("TRY_AGAIN");
    expect(await shop.ledger.get(`cart:${busy}`)).toBeUndefined();
  });

  test("a payment that priced the cart before its order was stored and charged pays the order's total instead", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 5, 2500);
    const cartId = await shop.cart([[pid, 2]]);
    const { order_id } = await shop.checkout.checkout(cartId, undefined);
    const orderId = String(order_id);
    expect(await new OrderWorker(shop.orders, shop.writes, shop.gateway).process(orderId)).toBe("completed");
    await shop.inventory.setStock(pid, 3, 9999);
    // The payment's first read misses the order, as one racing the checkout does.
    const getOrder = shop.orders.get.bind(shop.orders);
    let misses = 1;
    shop.orders.get = async (id) => (misses-- > 0 ? undefined : getOrder(id));
    const paid = await shop.payments.pay({ cartId, card: approving });
    expect(paid).toEqual({ transaction_id: (await getOrder(orderId))?.transaction_id ?? "" });
    expect(await shop.ledger.get(`cart:${cartId}`)).toMatchObject({ amount_cents: 5000 });
  });

  test("an order whose cart key holds a smaller charge fails (stock released) instead of completing underpaid", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 5, 2500);
    const cartId = await shop.cart([[pid, 2]]);
    const { order_id } = await shop.checkout.checkout(cartId, undefined);
    // What a payment priced before a concurrent price change leaves under the key.
    await shop.gateway.charge({ idempotencyKey: `cart:${cartId}`, amountCents: 1000, card: approving });
    // Meanwhile a payment for the order's total is refused: the key holds another amount.
    expect(await refusal(shop.payments.pay({ cartId, card: approving }))).toMatchObject({
      code: "CONFLICT",
      details: `idempotency key cart:${cartId} was used for 1000 cents, not 5000`,
    });
    const orderId = String(order_id);
    expect(await new OrderWorker(shop.orders, shop.writes, shop.gateway).process(orderId)).toBe("failed");
    expect(await shop.orders.get(orderId)).toMatchObject({
      status: "failed",
      failure_reason: `payment declined: idempotency key cart:${cartId} was used for 1000 cents, not 5000`,
    });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 5, reserved: 0, shipped: 0 });
    // The payment endpoint now meets the failed order, not a replay of the smaller charge.
    expect((await refusal(shop.payments.pay({ cartId, card: approving }))).code).toBe("ORDER_FAILED");
  });
});

describe("the simulated gateway binds an idempotency key to its amount", () => {
  const approving = "4242424242424242";

  test("the same key with another amount is refused and charges nothing; the same amount replays", async () => {
    const shop = memoryCommerce();
    const first = await shop.gateway.charge({
      idempotencyKey: "order:a",
      amountCents: 1000,
      card: approving,
    });
    expect(first).toMatchObject({ approved: true });
    expect(
      await shop.gateway.charge({ idempotencyKey: "order:a", amountCents: 1500, card: approving }),
    ).toEqual({
      approved: false,
      reason: "idempotency key order:a was used for 1000 cents, not 1500",
      mismatch: { charged_cents: 1000 },
    });
    expect(await shop.ledger.get("order:a")).toMatchObject({ amount_cents: 1000, result: first });
    expect(
      await shop.gateway.charge({ idempotencyKey: "order:a", amountCents: 1000, card: approving }),
    ).toEqual(first);
  });

  test("a key closed by a settling decline is refused for another amount too", async () => {
    const shop = memoryCommerce();
    await shop.gateway.charge({
      idempotencyKey: "order:d",
      amountCents: 1,
      card: "4000000000000002",
      settlesOrder: true,
    });
    expect(
      await shop.gateway.charge({ idempotencyKey: "order:d", amountCents: 2, card: approving }),
    ).toMatchObject({
      approved: false,
      mismatch: { charged_cents: 1 },
    });
  });

  test("the ledger's write-if-absent decides a race of two amounts: the loser is refused, not replayed", async () => {
    const ledger = new MemoryChargeLedger();
    // A ledger read that misses the other charge, as a read racing its write does.
    const racing = { get: async () => undefined, record: (r: ChargeRecord) => ledger.record(r) };
    const registry = new Registry();
    const gateway = new SimulatedGateway(
      racing,
      0,
      createResilience(undefined, registry, createLogger("silent")).policy("payment", paymentPolicy(0)),
      createGatewayMetrics(registry),
    );
    const won = await gateway.charge({ idempotencyKey: "cart:1", amountCents: 1000, card: approving });
    expect(won).toMatchObject({ approved: true });
    expect(
      await gateway.charge({ idempotencyKey: "cart:1", amountCents: 3000, card: approving }),
    ).toMatchObject({
      approved: false,
      mismatch: { charged_cents: 1000 },
    });
    expect(await gateway.charge({ idempotencyKey: "cart:1", amountCents: 1000, card: approving })).toEqual(
      won,
    );
    expect(await registry.getSingleMetricAsString("payments_total")).toContain(
      'outcome="amount_mismatch"} 1',
    );
  });
});

describe("carts", () => {
  test("a new cart is open and empty; lines merge by product and carry unit prices (0 when unknown)", async () => {
    const shop = memoryCommerce();
    const priced = await shop.product(1, 10, 250);
    await shop.products.put(demoProduct(2));
    const id = await shop.cart([
      [priced, 2],
      [priced, 3],
      [2, 1],
    ]);
    const { cart, lines } = await shop.cartService.get(id);
    expect(cart).toMatchObject({ shopping_cart_id: id, customer_id: 7, status: "open" });
    expect(lines).toEqual([
      { product_id: priced, quantity: 5, price_cents: 250 },
      { product_id: 2, quantity: 1, price_cents: 0 },
    ]);
  });

  test("NOT_FOUND for an unknown product or cart", async () => {
    const shop = memoryCommerce();
    const id = await shop.cart();
    expect(await refusal(shop.cartService.addItem(id, 404, 1))).toMatchObject({
      code: "NOT_FOUND",
      message: "product 404 not found",
    });
    const pid = await shop.product(1, 1);
    expect(await refusal(shop.cartService.addItem(999, pid, 1))).toMatchObject({
      code: "NOT_FOUND",
      message: "shopping cart 999 not found",
    });
    expect((await refusal(shop.cartService.get(999))).code).toBe("NOT_FOUND");
  });

  test("a line past int32 is INVALID_INPUT and leaves the line as it was", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 1);
    const id = await shop.cart([[pid, MAX_LINE_QUANTITY]]);
    expect(await refusal(shop.cartService.addItem(id, pid, 1))).toMatchObject({ code: "INVALID_INPUT" });
    expect((await shop.cartService.get(id)).lines[0]?.quantity).toBe(MAX_LINE_QUANTITY);
  });

  test("once checked out, adding is CART_CHECKED_OUT: the code checkout answers", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 5);
    const done = await shop.cart([[pid, 1]]);
    await shop.checkout.checkout(done, undefined);
    expect((await refusal(shop.cartService.addItem(done, pid, 1))).code).toBe("CART_CHECKED_OUT");
  });
});

describe("warehouse", () => {
  test("reserve and ship move stock; short is INSUFFICIENT_STOCK, unknown NOT_FOUND", async () => {
    const shop = memoryCommerce();
    const warehouse = new WarehouseService(shop.inventory);
    await warehouse.setStock(1, 3, 500);
    await warehouse.reserve(1, 2);
    expect((await refusal(warehouse.reserve(1, 2))).code).toBe("INSUFFICIENT_STOCK");
    expect((await refusal(warehouse.ship(1, 3))).code).toBe("INSUFFICIENT_STOCK");
    await warehouse.ship(1, 2);
    expect(await warehouse.stock(1)).toMatchObject({
      available: 1,
      reserved: 0,
      shipped: 2,
      price_cents: 500,
    });
    expect((await refusal(warehouse.reserve(2, 1))).code).toBe("NOT_FOUND");
    expect((await refusal(warehouse.stock(2))).code).toBe("NOT_FOUND");
  });
});

describe("auction items", () => {
  const items = (book: AuctionBook = new MemoryAuctionBook(new MemoryBidStream())) =>
    new AuctionItems(book, createLogger("silent"));
  const future = () => Date.now() + 60_000;

  test("defaults: a generated id, no description, a one-cent increment, no bids", async () => {
    const created = await items().create({ name: "Lamp", start_price: 1000, ends_at: future() });
    expect(created).toMatchObject({
      item_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      description: null,
      min_increment: 1,
      current_bid: 0,
      highest_bidder_id: null,
      bid_count: 0,
    });
  });

  test("a taken id is CONFLICT with the id as data", async () => {
    const it = items();
    await it.create({ item_id: "lamp", name: "Lamp", start_price: 1000, ends_at: future() });
    const again = it.create({ item_id: "lamp", name: "Lamp", start_price: 1000, ends_at: future() });
    expect(await refusal(again)).toMatchObject({ code: "CONFLICT", data: { item_id: "lamp" } });
  });

  test("bids: accepted with the event; BID_TOO_LOW and AUCTION_CLOSED carry the figures in decimal", async () => {
    const it = items();
    await it.create({ item_id: "a", name: "A", start_price: 1000, min_increment: 50, ends_at: future() });
    expect(await refusal(it.bid({ itemId: "a", userId: "u", amount: 999 }))).toMatchObject({
      code: "BID_TOO_LOW",
      data: { current_bid: 0, min_next_bid: 10 },
      details: "current bid 0, minimum next bid 10",
    });
    expect(await it.bid({ itemId: "a", userId: "u", amount: 1057 })).toMatchObject({
      amount: 1057,
      previous_bid: 0,
    });
    expect(await refusal(it.bid({ itemId: "a", userId: "v", amount: 1100 }))).toMatchObject({
      code: "BID_TOO_LOW",
      data: { current_bid: 10.57, min_next_bid: 11.07 },
    });
    await it.create({ item_id: "b", name: "B", start_price: 500, ends_at: Date.now() + 20 });
    await Bun.sleep(40);
    expect(await refusal(it.bid({ itemId: "b", userId: "u", amount: 5000 }))).toMatchObject({
      code: "AUCTION_CLOSED",
      data: { current_bid: 0, min_next_bid: 5 },
    });
    expect((await refusal(it.bid({ itemId: "nope", userId: "u", amount: 1 }))).code).toBe("NOT_FOUND");
    expect((await refusal(it.get("nope"))).code).toBe("NOT_FOUND");
  });

  test("contended optimistic bids are TRY_AGAIN; a failing book is DEPENDENCY_UNAVAILABLE", async () => {
    const base = new MemoryAuctionBook(new MemoryBidStream());
    const contended: AuctionBook = {
      ...bookOf(base),
      kind: "test",
      bid: async () => ({ kind: "contended" }),
    };
    expect(await refusal(items(contended).bid({ itemId: "a", userId: "u", amount: 1 }))).toMatchObject({
      code: "TRY_AGAIN",
      retryAfterS: 1,
    });
    const down: AuctionBook = {
      ...bookOf(base),
      kind: "redis",
      create: () => Promise.reject(new Error("ECONNREFUSED")),
      get: () => Promise.reject(new Error("ECONNREFUSED")),
      bid: () => Promise.reject(new Error("ECONNREFUSED")),
    };
    expect(await refusal(items(down).get("a"))).toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
      message: "auction book (redis) unavailable",
      retryAfterS: 1,
    });
  });
});
