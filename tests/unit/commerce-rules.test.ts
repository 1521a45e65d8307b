import { describe, expect, test } from "bun:test";
import { MemoryQueue } from "../../src/adapters/memory/queue.ts";
import { fromCents, toCents } from "../../src/domain/money.ts";
import { OrderItemSchema, parseOrderMessage } from "../../src/domain/orders.ts";
import { APPROVING_CARDS, DECLINING_CARDS, declineReason, luhnValid } from "../../src/domain/payments.ts";
import { retryDelayS } from "../../src/services/processor.ts";
import { Semaphore } from "../../src/util/semaphore.ts";

describe("money", () => {
  test.each([
    [19.99, 1999],
    [0.1, 10],
    [0.29, 29],
    [4.35, 435],
    [0, 0],
    [1_000_000, 100_000_000],
  ])("%p → %p cents", (amount, cents) => {
    expect(toCents(amount)).toBe(cents);
    expect(fromCents(cents)).toBe(amount);
  });

  test.each([19.999, 0.001, Number.NaN, Number.POSITIVE_INFINITY])("refuses %p", (amount) => {
    expect(toCents(amount)).toBeUndefined();
  });

  // The bounds are the field's: a unit price is 0..MAX_PRICE, whatever toCents could represent.
  test.each([-1, 1_000_000.01, 19.999])("refuses %p as a unit price", (price) => {
    expect(OrderItemSchema.safeParse({ product_id: 1, quantity: 1, price }).success).toBe(false);
  });

  test.each([0, 19.99, 1_000_000])("accepts %p as a unit price", (price) => {
    expect(OrderItemSchema.safeParse({ product_id: 1, quantity: 1, price }).success).toBe(true);
  });
});

describe("payment rules", () => {
  test("Luhn", () => {
    expect(luhnValid("4242424242424242")).toBe(true);
    expect(luhnValid("4242424242424241")).toBe(false);
    expect(luhnValid("79927398713")).toBe(true);
  });

  test("documented test cards approve or decline, Luhn-invalid numbers decline", () => {
    for (const card of APPROVING_CARDS) expect(declineReason(card)).toBeUndefined();
    for (const card of DECLINING_CARDS) expect(declineReason(card)).toBe("card declined by issuer");
    expect(declineReason("4242424242424241")).toBe("card number failed validation");
    expect(declineReason(undefined)).toBeUndefined();
  });
});

describe("order messages", () => {
  test("parses only {order_id: string}", () => {
    expect(parseOrderMessage('{"order_id":"a"}')).toEqual({ order_id: "a" });
    for (const bad of [
      "",
      "not json",
      "null",
      "[]",
      '{"order_id":1}',
      '{"order_id":""}',
      `{"order_id":"${"x".repeat(65)}"}`,
    ]) {
      expect(parseOrderMessage(bad)).toBeUndefined();
    }
  });

  test("retry delay doubles up to the visibility timeout", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayS(n, 30))).toEqual([1, 2, 4, 8, 16, 30, 30]);
    expect(retryDelayS(100, 43200)).toBe(900);
  });
});

describe("Semaphore", () => {
  test("bounds holders, hands permits over in order, and times out", async () => {
    const s = new Semaphore(2);
    expect(s.tryAcquire()).toBe(true);
    expect(await s.acquire()).toBe(true);
    expect(s.tryAcquire()).toBe(false);
    const order: number[] = [];
    const a = s.acquire(1000).then((ok) => ok && order.push(1));
    const b = s.acquire(1000).then((ok) => ok && order.push(2));
    expect(await s.acquire(10)).toBe(false);
    s.release();
    s.release();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(s.inUse()).toBe(2);
    const ctl = new AbortController();
    const c = s.acquire(Number.POSITIVE_INFINITY, ctl.signal);
    ctl.abort();
    expect(await c).toBe(false);
  });
});

describe("MemoryQueue (SQS semantics)", () => {
  const never = new AbortController().signal;

  test("a received message is hidden, comes back after the visibility timeout, and is gone once deleted", async () => {
    const q = new MemoryQueue(5);
    const id = await q.publish("a");
    const [m] = await q.receive(10, 0, 0.05, never);
    expect(m).toMatchObject({ id, body: "a", receiveCount: 1 });
    expect(await q.receive(10, 0, 1, never)).toEqual([]);
    const [again] = await q.receive(10, 1, 1, never);
    expect(again).toMatchObject({ id, receiveCount: 2 });
    // The first receipt handle is stale now: deleting with it does nothing.
    await q.delete(m?.receiptHandle ?? "");
    expect(q.depth()).toEqual({ visible: 0, inFlight: 1 });
    await q.delete(again?.receiptHandle ?? "");
    expect(q.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  test("visibility 0 returns a message at once; extending keeps it hidden", async () => {
    const q = new MemoryQueue(5);
    await q.publish("a");
    const [m] = await q.receive(1, 0, 0.05, never);
    await q.changeVisibility(m?.receiptHandle ?? "", 10);
    await Bun.sleep(100);
    expect(await q.receive(1, 0, 1, never)).toEqual([]);
    await q.changeVisibility(m?.receiptHandle ?? "", 0);
    expect((await q.receive(1, 0, 1, never)).length).toBe(1);
  });

  test("dead-letters a message received more than maxReceives times", async () => {
    const dead: string[] = [];
    const q = new MemoryQueue(2, (m) => dead.push(m.id));
    const id = await q.publish("poison");
    for (let i = 0; i < 2; i++) {
      const [m] = await q.receive(1, 1, 1, never);
      await q.changeVisibility(m?.receiptHandle ?? "", 0);
    }
    expect(await q.receive(1, 0, 1, never)).toEqual([]);
    expect(dead).toEqual([id]);
    expect(q.deadLetters[0]).toMatchObject({ id, body: "poison", receiveCount: 2 });
  });

  test("a long poll wakes on publish and ends on abort", async () => {
    const q = new MemoryQueue(5);
    const waiting = q.receive(10, 20, 1, never);
    await Bun.sleep(10);
    await q.publish("x");
    expect((await waiting).map((m) => m.body)).toEqual(["x"]);
    const ctl = new AbortController();
    const aborted = q.receive(10, 20, 1, ctl.signal);
    ctl.abort();
    expect(await aborted).toEqual([]);
  });
});
