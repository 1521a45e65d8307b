/** The orders use case (sync and async) on the memory adapters: every rule and outcome code, no HTTP. */
import { describe, expect, test } from "bun:test";
import { unavailable } from "../../src/domain/outcomes.ts";
import type { PaymentGateway } from "../../src/domain/payments.ts";
import { OrderWorker } from "../../src/services/processor.ts";
import { flakyPublisher, memoryCommerce, refusal } from "../helpers/use-cases.ts";

const input = (over: Record<string, unknown> = {}) => ({
  order_id: "o-1",
  customer_id: 3,
  items: [
    { product_id: 1, quantity: 2, price: 19.99 },
    { product_id: "SKU-9", quantity: 1, price: 0.01 },
  ],
  ...over,
});

describe("placeSync", () => {
  test("charges inline and answers the completed order in the contract's units", async () => {
    const shop = memoryCommerce();
    const view = await shop.pipeline.placeSync(input());
    expect(view).toMatchObject({
      order_id: "o-1",
      customer_id: 3,
      status: "completed",
      total: 39.99,
      transaction_id: expect.stringMatching(/^txn_/),
      items: [
        { product_id: 1, quantity: 2, price: 19.99 },
        { product_id: "SKU-9", quantity: 1, price: 0.01 },
      ],
    });
    expect((await shop.ledger.get("order:o-1"))?.amount_cents).toBe(3999);
  });

  test("a declined charge fails the order with the reason", async () => {
    const declining: PaymentGateway = {
      charge: async () => ({ approved: false, reason: "card declined by issuer" }),
    };
    const shop = memoryCommerce({ gateway: declining });
    expect(await shop.pipeline.placeSync(input())).toMatchObject({
      status: "failed",
      failure_reason: "payment declined: card declined by issuer",
    });
  });

  test("the same order_id and payload replays the answer; another payload or endpoint is CONFLICT", async () => {
    const shop = memoryCommerce();
    const first = await shop.pipeline.placeSync(input());
    expect(await shop.pipeline.placeSync(input())).toEqual(first);
    expect((await refusal(shop.pipeline.placeSync(input({ customer_id: 4 })))).code).toBe("CONFLICT");
    expect((await refusal(shop.pipeline.acceptAsync(input()))).code).toBe("CONFLICT");
  });

  test("all payment slots busy past SYNC_QUEUE_TIMEOUT_MS: DEPENDENCY_UNAVAILABLE, nothing stored", async () => {
    let release: () => void = () => {};
    const slow: PaymentGateway = {
      charge: () =>
        new Promise((resolve) => {
          release = () => resolve({ approved: true, transaction_id: "t" });
        }),
    };
    const shop = memoryCommerce({ gateway: slow, paymentSlots: 1, syncQueueTimeoutMs: 20 });
    const holding = shop.pipeline.placeSync(input({ order_id: "hold" }));
    const err = await refusal(shop.pipeline.placeSync(input({ order_id: "late" })));
    expect(err).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", retryAfterS: 1 });
    expect(await shop.orders.get("late")).toBeUndefined();
    release();
    expect(await holding).toMatchObject({ status: "completed" });
  });

  test("a plain create (no processor here) whose answer was lost but which landed is resent and recognised: the order is paid", async () => {
    const shop = memoryCommerce({ unavailable: "no processor" });
    const create = shop.orders.create.bind(shop.orders);
    let lose = 1;
    shop.orders.create = async (o) => {
      const r = await create(o);
      if (lose-- > 0) throw unavailable("orders did not answer", 1);
      return r;
    };
    expect(await shop.pipeline.placeSync(input())).toMatchObject({ order_id: "o-1", status: "completed" });
    expect(shop.ledger.records.size).toBe(1);
    // Another request with the same order_id and payload is a replay, not the owner.
    expect(await shop.pipeline.placeSync(input())).toMatchObject({ status: "completed" });
    expect(shop.ledger.records.size).toBe(1);
  });

  /** A charge that lands in the ledger and whose answer is then lost (`lose` times). */
  const losingAnswers = (shop: ReturnType<typeof memoryCommerce>, lose: number) => {
    const charge = shop.gateway.charge.bind(shop.gateway);
    shop.gateway.charge = async (request) => {
      const result = await charge(request);
      if (lose-- > 0) throw unavailable("payment did not answer", 1);
      return result;
    };
  };

  test("a charge that landed with its answer lost: 503, the order kept processing; the resend takes it over from the ledger, charged once", async () => {
    const shop = memoryCommerce({ syncTakeoverMs: 50 });
    losingAnswers(shop, 1);
    expect((await refusal(shop.pipeline.placeSync(input()))).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(await shop.orders.get("o-1")).toMatchObject({ status: "processing" });
    const charged = (await shop.ledger.get("order:o-1"))?.result;
    expect(charged).toMatchObject({ approved: true });
    const view = await shop.pipeline.placeSync(input());
    expect(view).toMatchObject({
      status: "completed",
      transaction_id: (charged as { transaction_id: string }).transaction_id,
    });
    expect(shop.ledger.records.size).toBe(1);
    await Bun.sleep(0);
    expect(await shop.outbox.pending(10)).toEqual([]);
  });

  test("without a resend the processor takes it over: its takeover record is published only after takeover_at", async () => {
    const shop = memoryCommerce({ syncTakeoverMs: 200, sweepMs: 0 });
    losingAnswers(shop, 1);
    expect((await refusal(shop.pipeline.placeSync(input()))).code).toBe("DEPENDENCY_UNAVAILABLE");
    await shop.relay.sweep();
    expect(shop.queue.depth().visible).toBe(0);
    await Bun.sleep(250);
    await shop.relay.sweep();
    const [message] = await shop.queue.receive(10, 0, 30, new AbortController().signal);
    expect(message?.body).toBe(JSON.stringify({ order_id: "o-1" }));
    const worker = new OrderWorker(shop.orders, shop.writes, shop.gateway);
    expect(await worker.process("o-1")).toBe("completed");
    const order = await shop.orders.get("o-1");
    expect(order).toMatchObject({ status: "completed" });
    expect(shop.ledger.records.size).toBe(1);
    expect((await shop.ledger.get("order:o-1"))?.result).toMatchObject({
      transaction_id: order?.transaction_id,
    });
    // The resend answers the finished order.
    expect(await shop.pipeline.placeSync(input())).toMatchObject({
      status: "completed",
      transaction_id: order?.transaction_id,
    });
  });

  test("a gateway outage (nothing charged): 503, the order kept; its taker charges it once under the key", async () => {
    let down = true;
    const flaky: PaymentGateway = {
      charge: async () => {
        if (down) throw unavailable("payment did not answer", 1);
        return { approved: true, transaction_id: "t2" };
      },
    };
    const shop = memoryCommerce({ gateway: flaky, syncTakeoverMs: 50 });
    expect((await refusal(shop.pipeline.placeSync(input()))).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(await shop.orders.get("o-1")).toMatchObject({ status: "processing" });
    down = false;
    expect(await shop.pipeline.placeSync(input())).toMatchObject({
      status: "completed",
      transaction_id: "t2",
    });
  });

  test("a create that timed out but landed: 503; the resend takes the order over once takeover_at passed", async () => {
    const shop = memoryCommerce({ syncTakeoverMs: 100 });
    const accept = shop.writes.acceptOrder.bind(shop.writes);
    let lose = 1;
    shop.writes.acceptOrder = async (o, r) => {
      const result = await accept(o, r);
      if (lose-- > 0) throw unavailable("orders did not answer", 1);
      return result;
    };
    expect((await refusal(shop.pipeline.placeSync(input()))).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(await shop.orders.get("o-1")).toMatchObject({ status: "processing" });
    expect(shop.ledger.records.size).toBe(0);
    expect(await shop.pipeline.placeSync(input())).toMatchObject({ status: "completed" });
    expect(shop.ledger.records.size).toBe(1);
  });
});

describe("acceptAsync", () => {
  test("stores the order pending and publishes its id only", async () => {
    const shop = memoryCommerce();
    const accepted = await shop.pipeline.acceptAsync(input());
    expect(accepted).toEqual({ order_id: "o-1", status: "pending", message_id: expect.any(String) });
    await Bun.sleep(0);
    expect(await shop.orders.get("o-1")).toMatchObject({
      status: "pending",
      message_id: accepted.message_id,
    });
    const [message] = await shop.queue.receive(10, 0, 30, new AbortController().signal);
    expect(message?.body).toBe(JSON.stringify({ order_id: "o-1" }));
  });

  test("an order_id is generated when absent", async () => {
    const shop = memoryCommerce();
    const { order_id } = await shop.pipeline.acceptAsync(input({ order_id: undefined }));
    expect(order_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("the same order_id and payload replays the message id; another payload is CONFLICT", async () => {
    const shop = memoryCommerce();
    const first = await shop.pipeline.acceptAsync(input());
    expect(await shop.pipeline.acceptAsync(input())).toEqual(first);
    expect((await refusal(shop.pipeline.acceptAsync(input({ customer_id: 9 })))).code).toBe("CONFLICT");
    expect((await refusal(shop.pipeline.placeSync(input()))).code).toBe("CONFLICT");
    expect(shop.queue.depth().visible).toBe(1);
  });

  test("a failed publish does not undo the 202: the order waits in the outbox, the next sweep publishes it", async () => {
    const base = memoryCommerce();
    const shop = memoryCommerce({ publisher: flakyPublisher(base.queue, 1), sweepMs: 0 });
    const first = await shop.pipeline.acceptAsync(input());
    expect(await shop.orders.get("o-1")).toMatchObject({ status: "pending", message_id: first.message_id });
    await Bun.sleep(0);
    expect(base.queue.depth().visible).toBe(0);
    // A resend replays the first answer, published or not.
    expect(await shop.pipeline.acceptAsync(input())).toEqual(first);
    await shop.relay.sweep();
    expect(base.queue.depth().visible).toBe(1);
    expect(await shop.outbox.pending(10)).toEqual([]);
  });

  test("message attributes travel in the outbox record to the publisher", async () => {
    const seen: (Record<string, string> | undefined)[] = [];
    const shop = memoryCommerce({
      publisher: {
        publish: async (_body, attributes) => {
          seen.push(attributes);
          return "m";
        },
      },
    });
    await shop.pipeline.acceptAsync(input(), { traceparent: "00-abc-def-01" });
    await Bun.sleep(0);
    expect(seen).toEqual([{ traceparent: "00-abc-def-01" }]);
  });

  test("without a processor in this process: DEPENDENCY_UNAVAILABLE naming the fix, nothing stored", async () => {
    const shop = memoryCommerce({ unavailable: "run --role api,processor" });
    expect(shop.pipeline.acceptsAsync()).toBe(false);
    expect(await refusal(shop.pipeline.acceptAsync(input()))).toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
      message: "run --role api,processor",
    });
    expect(await shop.orders.get("o-1")).toBeUndefined();
    // The sync path needs no queue.
    expect(await shop.pipeline.placeSync(input())).toMatchObject({ status: "completed" });
  });
});

describe("view", () => {
  test("NOT_FOUND for an unknown order; cart orders show their integer id", async () => {
    const shop = memoryCommerce();
    expect((await refusal(shop.pipeline.view("nope"))).code).toBe("NOT_FOUND");
    const id = await shop.cart([[await shop.product(1, 2), 1]]);
    const { order_id } = await shop.checkout.checkout(id, undefined);
    expect(await shop.pipeline.view(String(order_id))).toMatchObject({ order_id, status: "pending" });
  });
});
