/**
 * The Lambda processor on memory stores, driven through the Runtime API emulator by the same calls the
 * runtime loop makes (next → handle → response/error). The real binary against real stores is in
 * tests/integration/lambda.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { MemoryChargeLedger } from "../../src/adapters/memory/charges.ts";
import { MemoryInventoryStore } from "../../src/adapters/memory/inventory.ts";
import { MemoryOrderStore } from "../../src/adapters/memory/orders.ts";
import { MemoryCommerceWrites } from "../../src/adapters/memory/transactions.ts";
import { createGatewayMetrics, SimulatedGateway } from "../../src/adapters/sim/payment-gateway.ts";
import type { Order, OrderStore } from "../../src/domain/orders.ts";
import { LambdaProcessor, type RecordOutcome } from "../../src/lambda/processor.ts";
import { serve } from "../../src/lambda/run.ts";
import { RuntimeApi } from "../../src/lambda/runtime-api.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { isNetworkError } from "../../src/resilience/policy.ts";
import { OrderWorker } from "../../src/services/processor.ts";
import { eventually } from "../helpers/http.ts";
import {
  failedIds,
  type Message,
  type Reply,
  RuntimeEmulator,
  snsEvent,
  sqsEvent,
} from "../helpers/lambda.ts";

const emulator = new RuntimeEmulator();
const api = new RuntimeApi(emulator.address);
afterAll(() => emulator.stop());

interface Setup {
  paymentMs?: number;
  concurrency?: number;
  reserveMs?: number;
  /** Orders whose claim fails as a dependency timeout would. */
  flaky?: Set<string>;
}

function setup(opts: Setup = {}) {
  const registry = new Registry();
  const logs: string[] = [];
  const logger = createLogger("debug", (t) => logs.push(t));
  const paymentMs = opts.paymentMs ?? 10;
  const policy = createResilience(undefined, registry, logger).policy("payment", {
    timeoutMs: paymentMs + 2000,
    maxAttempts: 1,
    initialDelayMs: 0,
    maxDelayMs: 0,
    breakAfter: 1000,
    halfOpenAfterMs: 1000,
    isTransient: isNetworkError,
  });
  const ledger = new MemoryChargeLedger();
  const gateway = new SimulatedGateway(ledger, paymentMs, policy, createGatewayMetrics(registry));
  const orders = new MemoryOrderStore();
  const inventory = new MemoryInventoryStore();
  const flaky = opts.flaky ?? new Set<string>();
  const store: OrderStore = {
    get: (id) => orders.get(id),
    create: (o) => orders.create(o),
    transition: async (id, from, update) => {
      if (flaky.has(id)) throw Object.assign(new Error("store timed out"), { name: "TimeoutError" });
      return orders.transition(id, from, update);
    },
  };
  const visibility: { handle: string; seconds: number }[] = [];
  const processor = new LambdaProcessor(
    new OrderWorker(store, new MemoryCommerceWrites({ orders, inventory }), gateway),
    { concurrency: opts.concurrency ?? 100, orderReserveMs: opts.reserveMs ?? 0, visibilityS: 30 },
    logger,
    {
      changeVisibility: async (handle, seconds) => {
        visibility.push({ handle, seconds });
      },
    },
  );
  const seed = async (ids: string[], extra: Partial<Order> = {}) => {
    for (const id of ids) await orders.create(pendingOrder(id, extra));
    return ids.map((id) => ({ id: `msg-${id}`, body: JSON.stringify({ order_id: id }) }));
  };
  const status = async (id: string) => (await orders.get(id))?.status;
  const logText = () => {
    logger.flush();
    return logs.join("");
  };
  return { processor, orders, inventory, ledger, logText, visibility, seed, status };
}

function pendingOrder(id: string, extra: Partial<Order>): Order {
  const now = new Date().toISOString();
  return {
    order_id: id,
    customer_id: 7,
    items: [{ product_id: 1, quantity: 2, price_cents: 999 }],
    total_cents: 1998,
    status: "pending",
    source: "async",
    request_hash: `hash-${id}`,
    created_at: now,
    updated_at: now,
    ...extra,
  };
}

/** One turn of the runtime loop, exactly as src/lambda/run.ts takes it. */
async function invoke(
  processor: LambdaProcessor,
  event: unknown,
  options: { timeoutMs?: number; stop?: AbortSignal } = {},
): Promise<{ reply: Reply; deadlineMs: number; outcomes: RecordOutcome[] }> {
  const sent = emulator.invoke(event, { timeoutMs: options.timeoutMs });
  const invocation = await api.next();
  expect(invocation.requestId).toBe(sent.requestId);
  expect(invocation.deadlineMs).toBe(sent.deadlineMs);
  const result = await processor.handle(invocation, options.stop ?? new AbortController().signal);
  if ("response" in result.reply) await api.respond(invocation.requestId, result.reply.response);
  else await api.invocationError(invocation.requestId, result.reply.error);
  return { reply: await sent.reply, deadlineMs: sent.deadlineMs, outcomes: result.outcomes };
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("SQS batches", () => {
  test("a batch that all completes: no item failures, every order completed and charged once", async () => {
    const s = setup();
    const messages = await s.seed(ids("all", 10));
    const { reply, deadlineMs } = await invoke(s.processor, sqsEvent(messages));
    expect(failedIds(reply)).toEqual([]);
    expect(reply.at).toBeLessThan(deadlineMs);
    for (const id of ids("all", 10)) expect(await s.status(id)).toBe("completed");
    expect(s.ledger.records.size).toBe(10);
    expect(s.visibility).toEqual([]);
  });

  test("partial failure: only the failed messages are reported, with the processor's retry delay", async () => {
    const s = setup({ flaky: new Set(["part-3", "part-7"]) });
    const messages = await s.seed(ids("part", 10));
    messages[3] = { ...(messages[3] as Message), receiveCount: 3 } as Message;
    const { reply } = await invoke(s.processor, sqsEvent(messages));
    expect(failedIds(reply)).toEqual(["msg-part-3", "msg-part-7"]);
    for (const id of ids("part", 10)) {
      expect(await s.status(id)).toBe(id === "part-3" || id === "part-7" ? "pending" : "completed");
    }
    // retryDelayS: 1 s on a first receive, 4 s on a third.
    expect(s.visibility.sort((a, b) => a.handle.localeCompare(b.handle))).toEqual([
      { handle: "handle-msg-part-3", seconds: 4 },
      { handle: "handle-msg-part-7", seconds: 1 },
    ]);
    expect(s.logText()).toContain('"msg":"order failed transiently; retrying"');
  });

  test("poison messages are reported for the queue's redrive; the rest of the batch completes", async () => {
    const s = setup();
    const good = await s.seed(ids("poison", 2));
    const poison: Message[] = [
      { id: "p-text", body: "this is not an order", receiveCount: 5 },
      { id: "p-number", body: '{"order_id": 5}' },
      { id: "p-empty", body: "" },
      { id: "p-long", body: JSON.stringify({ order_id: "x".repeat(65) }) },
      { id: "p-huge", body: "x".repeat(256 * 1024) },
    ];
    const { reply, outcomes } = await invoke(s.processor, sqsEvent([...good, ...poison]));
    expect(failedIds(reply)).toEqual(["p-empty", "p-huge", "p-long", "p-number", "p-text"]);
    expect(outcomes.filter((o) => o === "malformed").length).toBe(5);
    for (const id of ids("poison", 2)) expect(await s.status(id)).toBe("completed");
    const lines = s.logText();
    expect(lines).toContain('"message_id":"p-text","receive_count":5,"body":"this is not an order"');
    // The logged body is bounded whatever the message size.
    expect(lines.length).toBeLessThan(20_000);
    expect(s.visibility.find((v) => v.handle === "handle-p-text")?.seconds).toBe(16);
  });

  test("redelivery of a completed order: deleted as a duplicate, no second charge, no second stock move", async () => {
    const s = setup();
    await s.inventory.setStock(1, 10);
    expect(await s.inventory.reserve(1, 2)).toBe("ok");
    const [message] = await s.seed(["cart-order"], {
      source: "cart",
      cart_id: 42,
      stock: "reserved",
      card_number: "4242424242424242",
    });
    const first = await invoke(s.processor, sqsEvent([message as Message]));
    expect(failedIds(first.reply)).toEqual([]);
    const completed = await s.orders.get("cart-order");
    expect(completed?.status).toBe("completed");
    const again = await invoke(s.processor, sqsEvent([{ ...(message as Message), receiveCount: 2 }]));
    expect(failedIds(again.reply)).toEqual([]);
    expect(again.outcomes).toEqual(["duplicate"]);
    expect(s.ledger.records.size).toBe(1);
    expect((await s.orders.get("cart-order"))?.transaction_id).toBe(completed?.transaction_id ?? "missing");
    expect(await s.inventory.get(1)).toMatchObject({ available: 8, reserved: 0, shipped: 2 });
  });

  test("an order a killed sandbox left processing, already charged, is finished with the same charge", async () => {
    const s = setup();
    const [message] = await s.seed(["resumed"], { status: "processing" });
    await s.ledger.record({
      key: "order:resumed",
      amount_cents: 1998,
      result: { approved: true, transaction_id: "txn_first" },
      at: new Date().toISOString(),
    });
    const { reply, outcomes } = await invoke(s.processor, sqsEvent([message as Message]));
    expect(failedIds(reply)).toEqual([]);
    expect(outcomes).toEqual(["completed"]);
    expect((await s.orders.get("resumed"))?.transaction_id).toBe("txn_first");
    expect(s.ledger.records.size).toBe(1);
  });

  test("deadline close: no order is started, every message comes back at once, nothing is charged", async () => {
    const s = setup({ reserveMs: 5000 });
    const messages = await s.seed(ids("late", 4));
    const { reply, outcomes } = await invoke(s.processor, sqsEvent(messages), { timeoutMs: 3000 });
    expect(failedIds(reply)).toEqual(messages.map((m) => m.id).sort());
    expect(outcomes).toEqual(["deferred", "deferred", "deferred", "deferred"]);
    for (const id of ids("late", 4)) expect(await s.status(id)).toBe("pending");
    expect(s.ledger.records.size).toBe(0);
    expect(s.visibility.map((v) => v.seconds)).toEqual([0, 0, 0, 0]);
  });

  test("a backlog larger than the time left: orders start while enough time remains, the rest are deferred", async () => {
    const s = setup({ paymentMs: 300, concurrency: 1, reserveMs: 1500 });
    const messages = await s.seed(ids("backlog", 12));
    const { reply, deadlineMs, outcomes } = await invoke(s.processor, sqsEvent(messages), {
      timeoutMs: 4000,
    });
    expect(reply.at).toBeLessThan(deadlineMs);
    const failed = new Set(failedIds(reply));
    for (const [i, id] of ids("backlog", 12).entries()) {
      const st = await s.status(id);
      // Reported ⇔ not completed; a reported order was never started or is still running (then resumed later).
      if (failed.has(`msg-${id}`)) expect(["pending", "processing"]).toContain(st ?? "gone");
      else expect(st).toBe("completed");
      expect(["completed", "deferred", "unfinished"]).toContain(outcomes[i] ?? "none");
    }
    expect(outcomes).toContain("completed");
    expect(outcomes).toContain("deferred");
    // One at a time, in order: nothing after the first deferred message was started.
    const firstDeferred = outcomes.indexOf("deferred");
    expect(outcomes.slice(firstDeferred).every((o) => o === "deferred")).toBe(true);
  });

  test("an order still running near the deadline is reported before the deadline and resumed by the redelivery", async () => {
    const s = setup({ paymentMs: 2500 });
    const [message] = await s.seed(["slow"]);
    const { reply, deadlineMs, outcomes } = await invoke(s.processor, sqsEvent([message as Message]), {
      timeoutMs: 1500,
    });
    // Lambda takes a reply only before the deadline; later the whole batch would come back.
    expect(reply.at).toBeLessThan(deadlineMs);
    expect(failedIds(reply)).toEqual(["msg-slow"]);
    expect(outcomes).toEqual(["unfinished"]);
    expect(await s.status("slow")).toBe("processing");
    const again = await invoke(s.processor, sqsEvent([{ ...(message as Message), receiveCount: 2 }]));
    expect(failedIds(again.reply)).toEqual([]);
    await eventually(
      async () => ((await s.status("slow")) === "completed" ? true : undefined),
      10_000,
      "slow",
    );
    expect(s.ledger.records.size).toBe(1);
  });

  test("SIGTERM during an invocation: the reply goes out at once with every unfinished message", async () => {
    const s = setup({ paymentMs: 5000, concurrency: 2 });
    const messages = await s.seed(ids("term", 3));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const { reply, outcomes } = await invoke(s.processor, sqsEvent(messages), { stop: stop.signal });
    expect(failedIds(reply)).toEqual(messages.map((m) => m.id).sort());
    // Two were paying (they go on in the background), the third never got a slot.
    expect(outcomes).toEqual(["unfinished", "unfinished", "deferred"]);
    expect(await s.status("term-0")).toBe("processing");
    expect(await s.status("term-2")).toBe("pending");
    expect(s.ledger.records.size).toBe(0);
    expect(s.visibility.find((v) => v.handle === "handle-msg-term-2")?.seconds).toBe(0);
  });
});

describe("SNS notifications (a direct subscription: no batch response)", () => {
  test("a processed notification answers success", async () => {
    const s = setup();
    const [message] = await s.seed(["sns-ok"]);
    const { reply } = await invoke(s.processor, snsEvent([message as Message]));
    expect(reply).toMatchObject({ kind: "response", body: {} });
    expect(await s.status("sns-ok")).toBe("completed");
  });

  test("a transient failure or a malformed message fails the invocation so Lambda retries it", async () => {
    const s = setup({ flaky: new Set(["sns-flaky"]) });
    const [flaky] = await s.seed(["sns-flaky"]);
    const failed = await invoke(s.processor, snsEvent([flaky as Message]));
    expect(failed.reply).toMatchObject({ kind: "error", errorType: "Shop.OrdersNotProcessed" });
    expect(failed.reply.kind === "error" && failed.reply.body.errorMessage).toContain("retry: 1");
    const poison = await invoke(s.processor, snsEvent([{ id: "sns-poison", body: "garbage" }]));
    expect(poison.reply.kind === "error" && poison.reply.body.errorMessage).toContain("malformed: 1");
    // No queue behind a notification: nothing to schedule.
    expect(s.visibility).toEqual([]);
  });
});

describe("events that are neither", () => {
  test.each([
    ["garbage", "nonsense"],
    ["an S3 event", { Records: [{ eventSource: "aws:s3" }] }],
    ["an empty object", {}],
  ])("%s is an invocation error", async (_, event) => {
    const s = setup();
    const { reply } = await invoke(s.processor, event);
    expect(reply).toMatchObject({ kind: "error", errorType: "Shop.InvalidEvent" });
  });
});

describe("the runtime loop", () => {
  test("a handler that throws fails that invocation only; the loop goes on and a stop ends it with 0", async () => {
    const own = new RuntimeEmulator();
    const logs: string[] = [];
    const stop = new AbortController();
    let calls = 0;
    const processor = {
      handle: async () => {
        calls++;
        if (calls === 1) throw new Error("a bug");
        return { reply: { response: { batchItemFailures: [] } }, source: "sqs" as const, outcomes: [] };
      },
    };
    const loop = serve(
      new RuntimeApi(own.address),
      processor,
      createLogger("debug", (t) => logs.push(t)),
      stop.signal,
    );
    try {
      const first = await own.invoke(sqsEvent([{ id: "m1", body: "{}" }])).reply;
      expect(first).toMatchObject({
        kind: "error",
        errorType: "Shop.Unhandled",
        body: { errorMessage: "a bug" },
      });
      const second = await own.invoke(sqsEvent([{ id: "m2", body: "{}" }])).reply;
      expect(failedIds(second)).toEqual([]);
      await own.untilNext(3);
      stop.abort();
      expect(await loop).toBe(0);
      expect(logs.join("")).toContain('"msg":"invocation failed"');
    } finally {
      own.stop();
    }
  });

  test("a Runtime API that stops answering ends the loop with 1 after a few attempts", async () => {
    const own = new RuntimeEmulator();
    own.stop();
    const logs: string[] = [];
    const processor = { handle: () => Promise.reject(new Error("never called")) };
    const code = await serve(
      new RuntimeApi(own.address),
      processor,
      createLogger("debug", (t) => logs.push(t)),
      new AbortController().signal,
    );
    expect(code).toBe(1);
    expect(logs.join("").split('"msg":"next invocation failed"').length - 1).toBe(5);
  });
});
