/** Cart checkout as a use case on the memory adapters: every rule and outcome code, no HTTP. */
import { describe, expect, test } from "bun:test";
import { unavailable } from "../../src/domain/outcomes.ts";
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
      stock: "reserved",
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
    // Published and removed from the outbox.
    expect(await shop.outbox.pending(10)).toEqual([]);
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

  test("a failed publish does not fail the checkout: the record stays in the outbox and the next sweep publishes it", async () => {
    const base = memoryCommerce();
    const shop = memoryCommerce({ publisher: flakyPublisher(base.queue, 1), sweepMs: 0 });
    const pid = await shop.product(1, 3);
    const id = await shop.cart([[pid, 2]]);
    const { order_id } = await shop.checkout.checkout(id, undefined);
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 1, reserved: 2 });
    expect(await shop.carts.get(id)).toMatchObject({ status: "checked_out", order_id });
    // The hand-over's publish failed: nothing on the queue, the record still waits.
    await Bun.sleep(0);
    expect(base.queue.depth().visible).toBe(0);
    const [record] = await shop.outbox.pending(10);
    expect(record?.body).toBe(JSON.stringify({ order_id: String(order_id) }));
    expect((await shop.orders.get(String(order_id)))?.message_id).toBe(record?.id);
    await shop.relay.sweep();
    expect(base.queue.depth().visible).toBe(1);
    expect(await shop.outbox.pending(10)).toEqual([]);
  });

  test("without a processor to consume orders: DEPENDENCY_UNAVAILABLE before anything changes", async () => {
    const shop = memoryCommerce({ unavailable: "no processor" });
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
  test("an older order holds the allocated id: the checkout takes the next one, the other order untouched", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 3);
    const id = await shop.cart([[pid, 1]]);
    const taken = await shop.pipeline.newOrder(
      { order_id: "1", customer_id: 1, items: [{ product_id: 1, quantity: 1, price: 1 }] },
      "async",
      "pending",
    );
    await shop.orders.create(taken);
    expect(await shop.checkout.checkout(id, undefined)).toEqual({ order_id: 2 });
    expect(await shop.orders.get("1")).toMatchObject({ source: "async" });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 2, reserved: 1 });
  });

  test("a line added after the cart was read is not checked out unpriced: the checkout reads the cart again", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 10, 100);
    const late = await shop.product(2, 10, 300);
    const id = await shop.cart([[pid, 1]]);
    // The first transaction sees lines other than those it priced and changes nothing.
    const first = await shop.writes.checkout({
      cartId: id,
      cartItems: { [pid]: 1, [late]: 1 },
      order: await shop.pipeline.newOrder(
        { order_id: "99", customer_id: 7, items: [{ product_id: pid, quantity: 1, price: 1 }] },
        "async",
        "pending",
      ),
      outbox: { id: "x", body: "{}", attributes: {}, created_at: 0 },
    });
    expect(first).toEqual({ kind: "cart_changed" });
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 10, reserved: 0 });
    await shop.cartService.addItem(id, late, 1);
    const { order_id } = await shop.checkout.checkout(id, undefined);
    expect((await shop.orders.get(String(order_id)))?.total_cents).toBe(400);
  });

  test("a cart of more products than one transaction holds is INVALID_INPUT, nothing changed", async () => {
    const shop = memoryCommerce();
    const lines: [number, number][] = [];
    for (let p = 1; p <= 98; p++) lines.push([await shop.product(p, 5), 1]);
    const id = await shop.cart(lines);
    expect((await refusal(shop.checkout.checkout(id, undefined))).code).toBe("INVALID_INPUT");
    expect(await shop.carts.get(id)).toMatchObject({ status: "open" });
    expect(await shop.inventory.get(1)).toMatchObject({ available: 5, reserved: 0 });
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

  test("Idempotency-Key after a 503 whose checkout landed: the resend with that key and card answers 200 with the order; another key CART_CHECKED_OUT", async () => {
    const shop = memoryCommerce();
    const pid = await shop.product(1, 5);
    const id = await shop.cart([[pid, 2]]);
    const checkout = shop.writes.checkout.bind(shop.writes);
    let lose = 1;
    shop.writes.checkout = async (write) => {
      const outcome = await checkout(write);
      if (lose-- > 0) throw unavailable("the database did not answer", 2);
      return outcome;
    };
    expect((await refusal(shop.checkout.checkout(id, "4242424242424242", "k1"))).code).toBe(
      "DEPENDENCY_UNAVAILABLE",
    );
    const orderId = (await shop.carts.get(id))?.order_id ?? 0;
    expect(await shop.orders.get(String(orderId))).toMatchObject({ cart_id: id, status: "pending" });
    // Another key or no key: not that request, so the cart's state answers.
    for (const key of ["k2", undefined]) {
      expect(await refusal(shop.checkout.checkout(id, "4242424242424242", key))).toMatchObject({
        code: "CART_CHECKED_OUT",
        data: { order_id: orderId },
      });
    }
    expect(await shop.checkout.checkout(id, "4242424242424242", "k1")).toEqual({ order_id: orderId });
    // Now remembered under the key: replayed as is, and another card under it is a CONFLICT.
    expect(await shop.checkout.checkout(id, "4242424242424242", "k1")).toEqual({ order_id: orderId });
    expect((await refusal(shop.checkout.checkout(id, undefined, "k1"))).code).toBe("CONFLICT");
    expect(await shop.inventory.get(pid)).toMatchObject({ available: 3, reserved: 2 });
  });
});
