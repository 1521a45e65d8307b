/**
 * What the processor does with one order, and the loop that feeds it from the queue.
 *
 * Exactly-once in effect on an at-least-once queue: every step is conditional or keyed by the order
 * id, so a redelivery, a second copy of the message, a restart after kill -9 or a write that timed out
 * resumes the order without repeating a charge or a stock move:
 * - claim pending|processing → processing: one item, a plain conditional write;
 * - the gateway charge, keyed by order or cart (a timeout is resolved by the same key's replay);
 * - the final status and, for cart orders, the stock it held (reserved → shipped, or back to available):
 *   several items, so one transaction (CommerceWrites.finishOrder) with a token per order and outcome;
 *   a timeout there throws, and the redelivery's resend finds the order final or finishes it.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { isFinal, type Order, type OrderStore, parseOrderMessage } from "../domain/orders.ts";
import { chargeKey, declinedFailure, type PaymentGateway } from "../domain/payments.ts";
import type { QueueConsumer, QueueMessage } from "../domain/queue.ts";
import { type CommerceWrites, type FinalUpdate, requestToken } from "../domain/transactions.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import { type Carrier, traced, tracing } from "../observability/tracing.ts";
import { Semaphore } from "../util/semaphore.ts";
import { sleep } from "../util/time.ts";

export type Outcome = "completed" | "failed" | "duplicate" | "orphan";

export class OrderWorker {
  constructor(
    private readonly store: OrderStore,
    private readonly writes: Pick<CommerceWrites, "finishOrder">,
    private readonly gateway: PaymentGateway,
  ) {}

  /**
   * Throws on anything transient; the message then comes back after a backoff. With tracing on each step
   * (claim, charge, stock moves, completion) is a span of its own under the message's consumer span.
   */
  async process(orderId: string): Promise<Outcome> {
    const order = await this.store.get(orderId);
    // No such order (a stray message, or its table emptied since): nothing to do.
    if (!order) return "orphan";
    if (isFinal(order.status)) return "duplicate";
    const step = { attributes: { "order.id": orderId } };
    const claimed = await traced("order claim", step, () =>
      this.store.transition(orderId, ["pending", "processing"], { status: "processing" }),
    );
    if (!claimed) return this.settled(orderId);
    const result = await traced("order charge", step, () =>
      this.gateway.charge({
        idempotencyKey: chargeKey(order),
        amountCents: order.total_cents,
        ...(order.card_number === undefined ? {} : { card: order.card_number }),
        settlesOrder: true,
      }),
    );
    const done = await this.finish(
      order,
      result.approved
        ? { status: "completed", transaction_id: result.transaction_id }
        : { status: "failed", failure_reason: declinedFailure(result.reason) },
    );
    if (!done) return this.settled(orderId);
    return done.status === "completed" ? "completed" : "failed";
  }

  /**
   * Cart orders' reservations move with the final status: shipped once paid, released once declined.
   * One transaction, so one span; `order.stock` says which way a cart order's stock moved.
   */
  private async finish(order: Order, update: FinalUpdate): Promise<Order | undefined> {
    const token = await requestToken("finish", order.order_id, update.status);
    const attributes: Record<string, string> = { "order.id": order.order_id };
    if (order.cart_id !== undefined)
      attributes["order.stock"] = update.status === "completed" ? "ship" : "release";
    return traced("order complete", { attributes }, () => this.writes.finishOrder(order, update, token));
  }

  /** A conditional write lost: another copy of the message finished the order, or something odd happened. */
  private async settled(orderId: string): Promise<Outcome> {
    const now = await this.store.get(orderId);
    if (now && isFinal(now.status)) return "duplicate";
    throw new Error(`order ${orderId} changed under the processor (status ${now?.status ?? "gone"})`);
  }
}

export interface ConsumerOptions {
  concurrency: number;
  visibilityS: number;
  /** Long-poll wait per receive. */
  waitS: number;
  /** On stop, how long in-flight orders may take before their messages are returned to the queue. */
  drainMs: number;
}

export interface ProcessorMetrics {
  inFlight: Gauge;
  outcomes: Counter<"outcome">;
  malformed: Counter;
  duration: Histogram;
}

export function createProcessorMetrics(registry: Registry): ProcessorMetrics {
  return {
    inFlight: new Gauge({
      name: "processor_orders_in_flight",
      help: "Orders the processor is working on",
      registers: [registry],
    }),
    outcomes: new Counter({
      name: "processor_messages_total",
      help: "Messages handled by outcome: completed, failed (declined), duplicate, orphan, retry, malformed",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    malformed: new Counter({
      name: "processor_malformed_messages_total",
      help: "Messages that are not an order message; left to reach the dead-letter queue",
      registers: [registry],
    }),
    duration: new Histogram({
      name: "processor_order_duration_seconds",
      help: "Time from receive to outcome per message",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
      registers: [registry],
    }),
  };
}

/** Seconds a failed message stays hidden before its next attempt: 1, 2, 4 … capped at the visibility timeout. */
export function retryDelayS(receiveCount: number, visibilityS: number): number {
  return Math.min(2 ** Math.min(receiveCount - 1, 16), visibilityS, 900);
}

/**
 * Keeps exactly `concurrency` orders in flight under a backlog: receivers take permits before they
 * receive (never more messages than free slots), and a receive returns as soon as messages wait.
 */
export class QueueProcessor {
  private readonly slots: Semaphore;
  private readonly abort = new AbortController();
  private readonly receivers: Promise<void>[] = [];
  private readonly active = new Map<string, { message: QueueMessage; done: Promise<void> }>();
  private peak = 0;

  constructor(
    private readonly queue: QueueConsumer,
    private readonly worker: OrderWorker,
    private readonly options: ConsumerOptions,
    private readonly metrics: ProcessorMetrics,
    private readonly logger: Logger,
    private readonly onFatal: (err: unknown) => void,
  ) {
    this.slots = new Semaphore(options.concurrency);
  }

  /** Highest number of orders in flight at once since start. */
  peakInFlight(): number {
    return this.peak;
  }

  inFlight(): number {
    return this.active.size;
  }

  start(): void {
    // One receiver per 10 slots (a receive returns at most 10), so refilling never waits on one receive.
    const receivers = Math.min(Math.ceil(this.options.concurrency / 10), 20);
    for (let i = 0; i < receivers; i++) this.receivers.push(this.receiveLoop());
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.receivers);
    const drained = Promise.all([...this.active.values()].map((a) => a.done));
    const bound = sleep(this.options.drainMs).then(() => "timeout" as const);
    if ((await Promise.race([drained, bound])) === "timeout") {
      // Whatever is still running goes back to the queue; its effects are idempotent, so another processor resumes it.
      const left = [...this.active.values()];
      this.logger.warn("drain bound reached; returning messages to the queue", { count: left.length });
      await Promise.all(
        left.map((a) => this.queue.changeVisibility(a.message.receiptHandle, 0).catch(() => {})),
      );
    }
  }

  private async receiveLoop(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      if (!(await this.slots.acquire(Number.POSITIVE_INFINITY, signal))) break;
      let taken = 1;
      while (taken < 10 && this.slots.tryAcquire()) taken++;
      let messages: QueueMessage[];
      try {
        messages = await this.queue.receive(taken, this.options.waitS, this.options.visibilityS, signal);
        failures = 0;
      } catch (err) {
        for (let i = 0; i < taken; i++) this.slots.release();
        if (signal.aborted) break;
        failures++;
        this.logger.warn("receive failed", { failures, ...errorFields(err) });
        if (failures >= 30) {
          this.onFatal(err);
          break;
        }
        await sleep(Math.min(100 * 2 ** failures, 5000));
        continue;
      }
      for (let i = messages.length; i < taken; i++) this.slots.release();
      for (const message of messages) {
        if (signal.aborted) {
          // Received while stopping: not started, so straight back to the queue.
          await this.queue.changeVisibility(message.receiptHandle, 0).catch(() => {});
          this.slots.release();
          continue;
        }
        this.dispatch(message);
      }
    }
  }

  private dispatch(message: QueueMessage): void {
    const done = this.handle(message).finally(() => {
      this.active.delete(message.receiptHandle);
      this.metrics.inFlight.set(this.active.size);
      this.slots.release();
    });
    this.active.set(message.receiptHandle, { message, done });
    this.peak = Math.max(this.peak, this.active.size);
    this.metrics.inFlight.set(this.active.size);
  }

  /** With tracing on, the message's consumer span: a child of the producer's context it carries, and linked to it. */
  private handle(message: QueueMessage): Promise<void> {
    const t = tracing();
    if (t === undefined) return this.handleMessage(message);
    return t.run("process orders", consumerSpan(message.id, message.receiveCount, message.trace), () =>
      this.handleMessage(message),
    );
  }

  private async handleMessage(message: QueueMessage): Promise<void> {
    const started = performance.now();
    const parsed = parseOrderMessage(message.body);
    if (!parsed) {
      this.metrics.malformed.inc();
      this.metrics.outcomes.inc({ outcome: "malformed" });
      this.logger.error("malformed order message; leaving it for the dead-letter queue", {
        message_id: message.id,
        receive_count: message.receiveCount,
        body: message.body.slice(0, 200),
      });
      await this.queue
        .changeVisibility(message.receiptHandle, retryDelayS(message.receiveCount, this.options.visibilityS))
        .catch(() => {});
      return;
    }
    const heartbeatMs = (this.options.visibilityS * 1000) / 2;
    const heartbeat = setInterval(() => {
      this.queue.changeVisibility(message.receiptHandle, this.options.visibilityS).catch((err) => {
        this.logger.warn("visibility heartbeat failed", { message_id: message.id, ...errorFields(err) });
      });
    }, heartbeatMs);
    try {
      const outcome = await this.worker.process(parsed.order_id);
      await this.queue.delete(message.receiptHandle);
      this.metrics.outcomes.inc({ outcome });
      if (outcome === "orphan")
        this.logger.warn("message for an unknown order deleted", { order_id: parsed.order_id });
    } catch (err) {
      this.metrics.outcomes.inc({ outcome: "retry" });
      const delay = retryDelayS(message.receiveCount, this.options.visibilityS);
      this.logger.warn("order failed transiently; retrying", {
        order_id: parsed.order_id,
        message_id: message.id,
        receive_count: message.receiveCount,
        retry_in_s: delay,
        ...errorFields(err),
      });
      await this.queue.changeVisibility(message.receiptHandle, delay).catch(() => {});
    } finally {
      clearInterval(heartbeat);
      this.metrics.duration.observe((performance.now() - started) / 1000);
    }
  }
}

/** The consumer span of one order message, on ECS and on Lambda alike. */
export function consumerSpan(messageId: string, receiveCount: number, trace: Carrier | undefined) {
  return {
    kind: "consumer" as const,
    parent: trace,
    links: [trace],
    attributes: {
      "messaging.system": "aws_sqs",
      "messaging.operation.type": "process",
      "messaging.message.id": messageId,
      "messaging.aws.sqs.receive_count": receiveCount,
    },
  };
}
