/** The payments, carts, warehouse and auction-item use cases on the memory adapters, no HTTP. */
import { describe, expect, test } from "bun:test";
import { MemoryAuctionBook, MemoryBidStream } from "../../src/adapters/memory/auctions.ts";
import type { AuctionBook } from "../../src/domain/auctions.ts";
import { MAX_LINE_QUANTITY } from "../../src/domain/carts.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { createLogger } from "../../src/observability/log.ts";
import { AuctionItems } from "../../src/services/auction-items.ts";
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
