/** Cart checkout as a use case on the memory adapters: every rule and outcome code, no HTTP. */
import { describe, expect, test } from "bun:test";
import { flakyPublisher, memoryCommerce, refusal } from "../helpers/use-cases.ts";

describe("checkout", () => {
  test("stores the order pending with the warehouse's prices, reserves every line, publishes, closes the cart", async () => {
    const shop = memoryCommerce();
    const a = await shop.product(1, 10, 125);
    const b = await shop.product(2, 5, 300);
    const id = await shop.cart([
      [a, 4],
      [b, 1],
    ]);
    const { order_id } = await shop.checkout.checkout(id, "4242424242424242");
    expect(await shop.orders.get(String(order_id))).toMatchObject({
      status: "pending",
      source: "cart",
      cart_id: id,
      total_cents: 4 * 125 + 300,
      card_number: "4242424242424242",
      items: [
        { product_id: a, quantity: 4, price_cents: 125 },
        { product_id: b, quantity: 1, price_cents: 300 },
      ],
    });
    expect(await shop.inventory.get(a)).toMatchObject({ available: 6, reserved: 4 });
    expect(await shop.inventory.get(b)).toMatchObject({ available: 4, reserved: 1 });
    expect(shop.queue.depth().visible).toBe(1);
    expect(await shop.carts.get(id)).toMatchObject({ status: "checked_out", order_id });
  });

  test("NOT_FOUND for an unknown cart, CART_EMPTY for an empty one", async () => {
    const shop = memoryCommerce();
    expect((await refusal(shop.checkout.checkout(999, undefined))).code).toBe("NOT_FOUND");
    const empty = await shop.cart();
    expect((await refusal(shop.checkout.checkout(empty, undefined))).code).toBe("CART_EMPTY");
    expect(await shop.carts.get(empty)).toMatchObject({ status: "open" });
  });

  test("CART_CHECKED_OUT once checked out, with the order id as data", async () => {
    const shop = memoryCommerce();
    const id = await shop.cart([[await shop.product(1, 5), 1]]);
    const { order_id } = await shop.checkout.checkout(id, undefined);
    const again = await refusal(shop.checkout.checkout(id, undefined));
    expect(again).toMatchObject({
      code: "CART_CHECKED_OUT",
      details: `order ${order_id}`,
      data: { order_id },
    });
  });

  test("INSUFFICIENT_STOCK lists every short line; nothing stays reserved, the cart stays open, no order", async () => {
    const shop = memoryCommerce();
    const plenty = await shop.product(1, 10);
    const scarce = await shop.product(2, 1);
    const none = await shop.product(3, 0);
    const id = await shop.cart([
      [plenty, 2],
      [scarce, 3],
      [none, 1],
    ]);
    const err = await refusal(shop.checkout.checkout(id, undefined));
    expect(err).toMatchObject({
      code: "INSUFFICIENT_STOCK",
      data: {
        lines: [
          { product_id: scarce, requested: 3, available: 1 },
          { product_id: none, requested: 1, available: 0 },
        ],
      },
    });
    expect(await shop.inventory.get(plenty)).toMatchObject({ available: 10, reserved: 0 });
    expect(await shop.carts.get(id)).toMatchObject({ status: "open" });
    const orderId = (await shop.carts.get(id))?.order_id;
    expect(orderId === undefined ? undefined : await shop.orders.get(String(orderId))).toBeUndefined();
    expect(shop.queue.depth().visible).toBe(0);
  });

  test("a failed publish is DEPENDENCY_UNAVAILABLE and undoes every step; the retry succeeds", async () => {
    const base = memoryCommerce();
    const shop = memoryCommerce({ publisher: { publisher: flakyPublisher(base.queue, 1) } });
    const pid = await shop.product(1, 3);
    const id = await shop.cart([[pid, 2]]);
    const err = await refusal(shop.checkout.checkout(id, undefined));
    expect(err.code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 3, reserved: 0 });
    expect(await shop.carts.get(id)).toMatchObject({ status: "open" });
    const { order_id } = await shop.checkout.checkout(id, undefined);
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 1, reserved: 2 });
    expect(base.queue.depth().visible).toBe(1);
    expect(await shop.orders.get(String(order_id))).toMatchObject({ status: "pending" });
  });

  test("without a processor to consume orders: DEPENDENCY_UNAVAILABLE before anything changes", async () => {
    const shop = memoryCommerce({ publisher: { unavailable: "no processor" } });
    const pid = await shop.product(1, 3);
    const id = await shop.cart([[pid, 1]]);
    expect(await refusal(shop.checkout.checkout(id, undefined))).toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
      message: "no processor",
    });
    expect(await shop.carts.get(id)).toMatchObject({ status: "open" });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 3, reserved: 0 });
  });

  // Clients cannot choose ids of digits alone any more (tests/unit/ids.test.ts); an order stored before that
  // rule may still hold one, written here straight to the store.
  test("TRY_AGAIN (retry at once) when an older order holds the allocated id; the retry takes the next", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 3);
    const id = await shop.cart([[pid, 1]]);
    const taken = await shop.pipeline.newOrder(
      { order_id: "1", customer_id: 1, items: [{ product_id: 1, quantity: 1, price: 1 }] },
      "async",
      "pending",
    );
    await shop.orders.create(taken);
    expect(await refusal(shop.checkout.checkout(id, undefined))).toMatchObject({
      code: "TRY_AGAIN",
      retryAfterS: 0,
    });
    expect(await shop.carts.get(id)).toMatchObject({ status: "open" });
    expect(await shop.orders.get("1")).toMatchObject({ source: "async" });
    expect(await shop.checkout.checkout(id, undefined)).toEqual({ order_id: 2 });
  });

  test("a checkout in progress is CART_CHECKED_OUT; a stale one is resumed with its order id, stock taken once", async () => {
    const shop = memoryCommerce({ staleMs: 1000 });
    const pid = await shop.product(1, 10);
    const live = await shop.cart([[pid, 1]]);
    expect(await shop.carts.beginCheckout(live, await shop.ids.next("orders"), Date.now())).toBe(true);
    expect((await refusal(shop.checkout.checkout(live, undefined))).code).toBe("CART_CHECKED_OUT");

    const stale = await shop.cart([[pid, 3]]);
    const orderId = await shop.ids.next("orders");
    expect(await shop.carts.beginCheckout(stale, orderId, Date.now() - 60_000)).toBe(true);
    expect(await shop.inventory.reserveFor(String(orderId), pid, 3)).toBe("ok");
    expect(await shop.checkout.checkout(stale, undefined)).toEqual({ order_id: orderId });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 7, reserved: 3 });
    expect(await shop.carts.get(stale)).toMatchObject({ status: "checked_out", order_id: orderId });
  });

  test("Idempotency-Key: the first outcome replays, a refusal included; another card under the key is CONFLICT", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 5);
    const id = await shop.cart();
    expect((await refusal(shop.checkout.checkout(id, undefined, "k1"))).code).toBe("CART_EMPTY");
    await shop.carts.addItem(id, pid, 1);
    // CART_EMPTY was the answer to that key: it stays the answer although the cart has a line now.
    expect((await refusal(shop.checkout.checkout(id, undefined, "k1"))).code).toBe("CART_EMPTY");
    const first = await shop.checkout.checkout(id, undefined, "k2");
    expect(await shop.checkout.checkout(id, undefined, "k2")).toEqual(first);
    expect((await refusal(shop.checkout.checkout(id, "4242424242424242", "k2"))).code).toBe("CONFLICT");
    expect(shop.queue.depth().visible).toBe(1);
  });
});
