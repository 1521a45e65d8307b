import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MemoryChargeLedger } from "../../src/adapters/memory/charges.ts";
import { MemoryOrderStore } from "../../src/adapters/memory/orders.ts";
import { MemoryOutbox } from "../../src/adapters/memory/outbox.ts";
import { MemoryCommerceWrites } from "../../src/adapters/memory/transactions.ts";
import type { OutboxRecord } from "../../src/domain/outbox.ts";
import { DomainError } from "../../src/domain/outcomes.ts";
import { createLogger } from "../../src/observability/log.ts";
import { OrderService, type OrderServiceDeps } from "../../src/services/orders.ts";
import { Semaphore } from "../../src/util/semaphore.ts";
import { eventually, get, metric, post } from "../helpers/http.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const order = (over: Record<string, unknown> = {}) => ({
  customer_id: 123,
  items: [{ product_id: "SKU-001", quantity: 2, price: 19.99 }],
  ...over,
});

const completed = (url: string, id: string) =>
  eventually(
    async () => {
      const r = await get(`${url}/orders/${id}`);
      const status = (r.body as { status?: string }).status;
      return status === "completed" || status === "failed" ? r.body : undefined;
    },
    10_000,
    `order ${id} to finish`,
  );

describe("orders contract (memory, in-process queue)", () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await startTestShop(["all"], { PAYMENT_SIM_MS: "20" });
  });
  afterAll(() => shop.stop());

  test.each([
    ["missing customer_id", { items: order().items }, "customer_id"],
    ["customer_id as a string", order({ customer_id: "123" }), "customer_id"],
    ["customer_id 0", order({ customer_id: 0 }), "customer_id"],
    ["customer_id past int32", order({ customer_id: 2147483648 }), "customer_id"],
    ["no items", order({ items: [] }), "items"],
    ["101 items", order({ items: Array.from({ length: 101 }, () => order().items[0]) }), "items"],
    ["quantity 0", order({ items: [{ product_id: 1, quantity: 0, price: 1 }] }), "items.0.quantity"],
    ["quantity 10001", order({ items: [{ product_id: 1, quantity: 10001, price: 1 }] }), "items.0.quantity"],
    ["quantity 1.5", order({ items: [{ product_id: 1, quantity: 1.5, price: 1 }] }), "items.0.quantity"],
    [
      "price with 3 decimals",
      order({ items: [{ product_id: 1, quantity: 1, price: 1.999 }] }),
      "items.0.price",
    ],
    ["negative price", order({ items: [{ product_id: 1, quantity: 1, price: -1 }] }), "items.0.price"],
    ["price as a string", order({ items: [{ product_id: 1, quantity: 1, price: "1.00" }] }), "items.0.price"],
    ["product_id 0", order({ items: [{ product_id: 0, quantity: 1, price: 1 }] }), "items.0.product_id"],
    ["empty product_id", order({ items: [{ product_id: "", quantity: 1, price: 1 }] }), "items.0.product_id"],
    ["order_id of 65 chars", order({ order_id: "x".repeat(65) }), "order_id"],
    ["empty order_id", order({ order_id: "" }), "order_id"],
    // 35 code points, 68 UTF-16 units: once accepted, then malformed to the processor (pending forever).
    ["order_id outside the id alphabet", order({ order_id: `q-${"\u{1F600}".repeat(33)}` }), "order_id"],
    ["order_id with a space", order({ order_id: "a b" }), "order_id"],
    // Ids of digits alone are the ones checkout allocates.
    ["order_id of digits alone", order({ order_id: "9" }), "order_id"],
  ])("400 for %s on both endpoints", async (_name, body, field) => {
    for (const path of ["/orders/sync", "/orders/async"]) {
      const r = await post(`${shop.url}${path}`, body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: "INVALID_INPUT" });
      expect((r.body as { details: string }).details).toContain(field);
    }
  });

  test("malformed JSON is 400 and another content type 415", async () => {
    expect((await post(`${shop.url}/orders/async`, "{nope")).status).toBe(400);
    const res = await fetch(`${shop.url}/orders/async`, {
      method: "POST",
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    expect(res.status).toBe(415);
  });

  test("sync: 200 completed after payment, totals in cents without float error", async () => {
    const r = await post(
      `${shop.url}/orders/sync`,
      order({ items: [{ product_id: 1, quantity: 3, price: 0.1 }] }),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "completed", customer_id: 123, total: 0.3 });
    const id = (r.body as { order_id: string }).order_id;
    expect((await get(`${shop.url}/orders/${id}`)).body).toMatchObject({
      order_id: id,
      status: "completed",
      total: 0.3,
    });
  });

  test("async: 202 pending with a message id, then completed by the processor", async () => {
    const r = await post(`${shop.url}/orders/async`, order({ order_id: "async-1" }));
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ order_id: "async-1", status: "pending", message_id: expect.any(String) });
    const done = await completed(shop.url, "async-1");
    expect(done).toMatchObject({
      order_id: "async-1",
      customer_id: 123,
      items: [{ product_id: "SKU-001", quantity: 2, price: 19.99 }],
      total: 39.98,
      status: "completed",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  test("same order_id: identical payload replays the first answer, another payload is 409", async () => {
    const first = await post(`${shop.url}/orders/async`, order({ order_id: "dup-a" }));
    const again = await post(`${shop.url}/orders/async`, order({ order_id: "dup-a" }));
    expect(again).toEqual(first);
    const other = await post(`${shop.url}/orders/async`, order({ order_id: "dup-a", customer_id: 9 }));
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ error: "CONFLICT" });
    // The same id on the other endpoint is another request too.
    expect((await post(`${shop.url}/orders/sync`, order({ order_id: "dup-a" }))).status).toBe(409);

    const [s1, s2] = await Promise.all([
      post(`${shop.url}/orders/sync`, order({ order_id: "dup-s" })),
      post(`${shop.url}/orders/sync`, order({ order_id: "dup-s" })),
    ]);
    expect(s1.status).toBe(200);
    expect(s2).toEqual(s1);
    expect(
      (
        await post(
          `${shop.url}/orders/sync`,
          order({ order_id: "dup-s", items: [{ product_id: 1, quantity: 1, price: 1 }] }),
        )
      ).status,
    ).toBe(409);
  });

  test("GET of an unknown order is 404", async () => {
    const r = await get(`${shop.url}/orders/nope`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: "NOT_FOUND" });
  });

  test("publishing fails: still 202, the order waits in the outbox and completes once the queue is back", async () => {
    const faults = shop.shop.manager.get("resilience").faults;
    faults.set("queue", { error: 1 });
    try {
      const first = await post(`${shop.url}/orders/async`, order({ order_id: "pub-fail" }));
      expect(first.status).toBe(202);
      expect((await get(`${shop.url}/orders/pub-fail`)).body).toMatchObject({ status: "pending" });
      const ready = await get(`${shop.url}/ready`);
      expect(JSON.stringify(ready.body)).toContain("lag_s");
      // A resend replays the first answer while the message still waits.
      expect(await post(`${shop.url}/orders/async`, order({ order_id: "pub-fail" }))).toEqual(first);
      // The relay's publish (with the queue policy's retries) has failed: nothing reached the processor.
      await eventually(async () =>
        (await metric(shop.url, "outbox_publish_failures_total")) > 0 ? true : undefined,
      );
      expect((await get(`${shop.url}/orders/pub-fail`)).body).toMatchObject({ status: "pending" });
    } finally {
      faults.clear("queue");
    }
    // The next sweep publishes it.
    expect(await completed(shop.url, "pub-fail")).toMatchObject({ status: "completed" });
  });
});

describe("accept path failure points (service level)", () => {
  const deps = (writes: OrderServiceDeps["writes"]) => ({
    store: new MemoryOrderStore(),
    writes,
    gateway: { charge: async () => ({ approved: true as const, transaction_id: "t" }) },
    logger: createLogger("silent"),
    paymentSlots: new Semaphore(1),
    syncQueueTimeoutMs: 100,
    syncTakeoverMs: 1000,
  });
  const input = { order_id: "o1", customer_id: 1, items: [{ product_id: 1, quantity: 1, price: 1 }] };

  test("the store fails: 503 and nothing is handed to the relay", async () => {
    const handed: OutboxRecord[] = [];
    const service = new OrderService(
      deps({
        acceptOrder: async () => {
          throw new Error("store down");
        },
      }),
      { relay: { handOver: (r) => handed.push(r) } },
    );
    const err = await service.acceptAsync(input).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect(handed).toEqual([]);
  });

  test("the write timed out but landed: 503, then the resend replays that write's message_id", async () => {
    const orders = new MemoryOrderStore();
    const outbox = new MemoryOutbox();
    const real = new MemoryCommerceWrites({ orders, outbox });
    let landAndTimeOut = true;
    const handed: OutboxRecord[] = [];
    const service = new OrderService(
      deps({
        acceptOrder: async (o, r, t) => {
          const result = await real.acceptOrder(o, r);
          if (!landAndTimeOut) return result;
          landAndTimeOut = false;
          throw new DomainError("DEPENDENCY_UNAVAILABLE", `did not answer (token ${t})`);
        },
      }),
      { relay: { handOver: (r) => handed.push(r) } },
    );
    expect(((await service.acceptAsync(input).catch((e) => e)) as DomainError).code).toBe(
      "DEPENDENCY_UNAVAILABLE",
    );
    const [record] = await outbox.pending(10);
    expect(record).toBeDefined();
    // The order exists with its message waiting, so the resend's answer is the landed write's.
    expect(await service.acceptAsync(input)).toEqual({
      order_id: "o1",
      status: "pending",
      message_id: record?.id ?? "",
    });
    expect(await outbox.pending(10)).toHaveLength(1);
  });
});

describe("processor", () => {
  test("1000 async orders: all completed, each charged exactly once", async () => {
    const shop = await startTestShop(["all"], { PAYMENT_SIM_MS: "10", PROCESSOR_CONCURRENCY: "100" });
    try {
      const ids = Array.from({ length: 1000 }, (_, i) => `bulk-${i}`);
      for (let i = 0; i < ids.length; i += 100) {
        const batch = await Promise.all(
          ids.slice(i, i + 100).map((id) => post(`${shop.url}/orders/async`, order({ order_id: id }))),
        );
        expect(batch.every((r) => r.status === 202)).toBe(true);
      }
      const store = shop.shop.manager.get("orderStore");
      await eventually(
        async () => {
          const orders = await Promise.all(ids.map((id) => store.get(id)));
          return orders.every((o) => o?.status === "completed") ? true : undefined;
        },
        30_000,
        "1000 orders to complete",
      );
      const ledger = shop.shop.manager.get("chargeLedger") as MemoryChargeLedger;
      expect([...ledger.records.keys()].filter((k) => k.startsWith("order:bulk-")).length).toBe(1000);
      expect(await metric(shop.url, "payments_total", 'outcome="approved"')).toBe(1000);
      expect(await metric(shop.url, "payments_replayed_total")).toBe(0);
      expect(await metric(shop.url, "processor_messages_total", 'outcome="completed"')).toBe(1000);
    } finally {
      await shop.stop();
    }
  });

  test("PAYMENT_SIM_MS=200, PROCESSOR_CONCURRENCY=50: in flight reaches 50 and never exceeds it", async () => {
    const shop = await startTestShop(["all"], { PAYMENT_SIM_MS: "200", PROCESSOR_CONCURRENCY: "50" });
    try {
      const n = 500;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: n }, (_, i) => post(`${shop.url}/orders/async`, order({ order_id: `c-${i}` }))),
      );
      const processor = shop.shop.manager.get("orderProcessor");
      const queue = shop.shop.manager.get("orderQueue").memory;
      const starved: number[] = [];
      await eventually(
        async () => {
          // While messages wait, every slot should be busy.
          if ((queue?.depth().visible ?? 0) > 0 && processor.inFlight() < 50)
            starved.push(processor.inFlight());
          return (await metric(shop.url, "processor_messages_total", 'outcome="completed"')) === n
            ? true
            : undefined;
        },
        30_000,
        "500 orders",
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `[figure] 500 orders, concurrency 50, payment 200 ms: ${(n / seconds).toFixed(0)} orders/s (ideal 250)`,
      );
      expect(processor.peakInFlight()).toBe(50);
      // Sampling can land between a finish and its refill; a starved processor would show up in most samples.
      expect(starved.length).toBeLessThan(10);
    } finally {
      await shop.stop();
    }
  });

  test("a poison message reaches the dead-letter list after QUEUE_MAX_RECEIVES receives and shows in metrics", async () => {
    const shop = await startTestShop(["all"], { QUEUE_MAX_RECEIVES: "2", QUEUE_VISIBILITY_TIMEOUT_S: "1" });
    try {
      const queue = shop.shop.manager.get("orderQueue").memory;
      const id = await queue?.publish("{not an order");
      await eventually(async () => (queue?.deadLetters.length ? true : undefined), 10_000, "dead letter");
      expect(queue?.deadLetters[0]).toMatchObject({ id, body: "{not an order", receiveCount: 2 });
      expect(await metric(shop.url, "processor_malformed_messages_total")).toBe(2);
      expect(await metric(shop.url, "queue_dead_letters_total")).toBe(1);
      expect(shop.logs.join("")).toContain(`"message_id":"${id}"`);
    } finally {
      await shop.stop();
    }
  });

  test("a transient payment failure is retried through the visibility timeout", async () => {
    const shop = await startTestShop(["all"], { PAYMENT_SIM_MS: "0", QUEUE_VISIBILITY_TIMEOUT_S: "1" });
    try {
      const faults = shop.shop.manager.get("resilience").faults;
      faults.set("payment", { error: 1 });
      await post(`${shop.url}/orders/async`, order({ order_id: "flaky" }));
      await eventually(async () =>
        (await metric(shop.url, "processor_messages_total", 'outcome="retry"')) > 0 ? true : undefined,
      );
      expect((await get(`${shop.url}/orders/flaky`)).body).toMatchObject({ status: "processing" });
      faults.clear("payment");
      expect(await completed(shop.url, "flaky")).toMatchObject({ status: "completed" });
    } finally {
      await shop.stop();
    }
  });

  test("stopping with orders in flight past the drain bound returns their messages to the queue", async () => {
    const shop = await startTestShop(["all"], { PAYMENT_SIM_MS: "5000", PROCESSOR_DRAIN_MS: "100" });
    const queue = shop.shop.manager.get("orderQueue").memory;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        post(`${shop.url}/orders/async`, order({ order_id: `drain-${i}` })),
      ),
    );
    await eventually(async () =>
      shop.shop.manager.get("orderProcessor").inFlight() === 5 ? true : undefined,
    );
    await shop.stop();
    expect(queue?.depth()).toEqual({ visible: 5, inFlight: 0 });
  });
});

describe("roles", () => {
  test("api alone on the in-process default serves, but async orders answer 503 with the reason", async () => {
    const shop = await startTestShop(["api"], {});
    try {
      const r = await post(`${shop.url}/orders/async`, order());
      expect(r.status).toBe(503);
      expect((r.body as { message: string }).message).toContain("no processor");
      expect((await get(`${shop.url}/orders/x`)).status).toBe(404);
    } finally {
      await shop.stop();
    }
  });

  test("processor alone without shared state refuses to start, naming what is missing", async () => {
    const err = await startTestShop(["processor"], {}).catch((e) => e);
    expect(String(err)).toContain("SQS_QUEUE_URL, ORDERS_TABLE, INVENTORY_TABLE, IDEMPOTENCY_TABLE");
  });
});
