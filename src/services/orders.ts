/**
 * Accepting orders. The async path writes the order (pending) and its outbox record in one atomic step
 * (src/domain/transactions.ts) and answers 202 with the record's id as `message_id`; the outbox relay
 * publishes it. So a 202 always means the order exists and will be processed, and a resend with the same
 * order_id and payload finds the order and replays that first answer, whatever happened in between (a
 * timeout, an open breaker, a crash). A 503 means the outcome is unknown: the resend tells.
 */

import { fromCents } from "../domain/money.ts";
import {
  isFinal,
  lineTotal,
  type Order,
  type OrderInput,
  type OrderStore,
  type OrderView,
  orderView,
  requestHash,
  toLines,
} from "../domain/orders.ts";
import { type OutboxRecord, orderMessageRecord } from "../domain/outbox.ts";
import { conflict, DomainError, notFound, unavailable } from "../domain/outcomes.ts";
import { chargeKey, declinedFailure, type PaymentGateway } from "../domain/payments.ts";
import { type CommerceWrites, requestToken } from "../domain/transactions.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import { traceCarrier } from "../observability/tracing.ts";
import type { Semaphore } from "../util/semaphore.ts";
import { sleep } from "../util/time.ts";
import type { Settlement } from "./auction-settlement.ts";

export interface AsyncAccepted {
  order_id: string;
  status: "pending";
  message_id: string;
}

export interface OrderServiceDeps {
  store: OrderStore;
  writes: Pick<CommerceWrites, "acceptOrder">;
  gateway: PaymentGateway;
  logger: Logger;
  /** Bounds concurrent payments on the sync path (PAYMENT_CONCURRENCY). */
  paymentSlots: Semaphore;
  syncQueueTimeoutMs: number;
  paymentSimMs: number;
}

/** What publishes committed outbox records (the outbox relay). */
export interface Relay {
  handOver(record: OutboxRecord): void;
}

/** The relay when a processor will consume what is published; else why the async path is off here. */
export type IntakeState = { relay: Relay } | { unavailable: string };

/** Waits before resending a sync order's create whose answer was lost; then the request answers 503. */
const CREATE_RESENDS_MS = [200, 1000] as const;

export class OrderService {
  constructor(
    private readonly deps: OrderServiceDeps,
    private readonly intakeState: IntakeState,
  ) {}

  /** False when nothing would consume what this process publishes: the async path and checkout refuse. */
  acceptsAsync(): boolean {
    return "relay" in this.intakeState;
  }

  async view(orderId: string): Promise<OrderView> {
    const order = await this.deps.store.get(orderId);
    if (!order) throw notFound(`order ${orderId} not found`);
    return orderView(order);
  }

  /** Refuses (DEPENDENCY_UNAVAILABLE, naming what is missing) when no processor would consume what is published. */
  intake(): Relay {
    const state = this.intakeState;
    if ("unavailable" in state) throw unavailable(state.unavailable);
    return state.relay;
  }

  /**
   * `attributes` become the message's attributes, kept in the outbox record with the request's trace
   * context (when tracing is on), so the relay's producer span continues the request's trace whenever
   * and wherever it publishes.
   */
  async acceptAsync(input: OrderInput, attributes: Record<string, string> = {}): Promise<AsyncAccepted> {
    const relay = this.intake();
    const order = await this.newOrder(input, "async", "pending");
    const record = orderMessageRecord(order.order_id, { ...traceCarrier(), ...attributes });
    order.message_id = record.id;
    // This request's own transaction: its resends after a timeout are the same one (see transactions.ts).
    const token = await requestToken("accept", order.order_id, order.request_hash, record.id);
    const result = await this.guard("store the order", () =>
      this.deps.writes.acceptOrder(order, record, token),
    );
    if (result.created) {
      relay.handOver(record);
      return { order_id: order.order_id, status: "pending", message_id: record.id };
    }
    const existing = result.existing;
    if (existing.request_hash !== order.request_hash || existing.source !== "async") {
      throw conflict(`order ${order.order_id} already exists with a different payload`);
    }
    // Committed with its outbox record in one step, so it will be processed: replay the first answer.
    return { order_id: existing.order_id, status: "pending", message_id: existing.message_id ?? "" };
  }

  /**
   * An auction win as an order (services/auction-settlement.ts): one line, the item at the winning
   * price, no card (the account on file is charged). Idempotent by the derived order id, like any
   * async order, so every settlement attempt ends in the same one.
   */
  acceptSettlement(s: Settlement): Promise<AsyncAccepted> {
    return this.acceptAsync({
      order_id: s.order_id,
      customer_id: s.customer_id,
      items: [{ product_id: s.item_id, quantity: 1, price: fromCents(s.amount) }],
    });
  }

  /** Charges inline: the seeds' synchronous design, bounded by PAYMENT_CONCURRENCY. */
  async placeSync(input: OrderInput): Promise<OrderView> {
    const order = { ...(await this.newOrder(input, "sync", "processing")), request_id: crypto.randomUUID() };
    const created = await this.createSync(order);
    if (!created.created) return this.replaySync(created.existing, order);
    try {
      if (!(await this.deps.paymentSlots.acquire(this.deps.syncQueueTimeoutMs))) {
        throw unavailable(`all payment slots busy for ${this.deps.syncQueueTimeoutMs} ms; retry later`, 1);
      }
      try {
        const result = await this.deps.gateway.charge({
          idempotencyKey: chargeKey(order),
          amountCents: order.total_cents,
        });
        const done = await this.deps.store.transition(
          order.order_id,
          ["processing"],
          result.approved
            ? { status: "completed", transaction_id: result.transaction_id }
            : { status: "failed", failure_reason: declinedFailure(result.reason) },
        );
        if (!done) throw new Error(`order ${order.order_id} left processing while being paid`);
        return orderView(done);
      } finally {
        this.deps.paymentSlots.release();
      }
    } catch (err) {
      await this.deps.store.discard(order.order_id, order.request_hash).catch(() => {});
      throw err;
    }
  }

  /**
   * Stores a new sync order. A create whose answer was lost (a timeout) may have landed: it is resent,
   * and an order carrying this request's own request_id is that landed write, which this request then
   * pays, rather than leaving it processing with nobody to finish it.
   */
  private async createSync(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.guard("store the order", () => this.deps.store.create(order));
        if (!r.created && r.existing.request_id === order.request_id) return { created: true };
        return r;
      } catch (err) {
        const unknown = err instanceof DomainError && err.code === "DEPENDENCY_UNAVAILABLE";
        if (!unknown || attempt >= CREATE_RESENDS_MS.length) throw err;
        await sleep(CREATE_RESENDS_MS[attempt] ?? 0);
      }
    }
  }

  private async replaySync(existing: Order, order: Order): Promise<OrderView> {
    if (existing.request_hash !== order.request_hash || existing.source !== "sync") {
      throw conflict(`order ${order.order_id} already exists with a different payload`);
    }
    // The first request is still paying: its answer is the one to replay.
    const deadline = Date.now() + this.deps.syncQueueTimeoutMs + this.deps.paymentSimMs + 5000;
    let current: Order | undefined = existing;
    while (current && !isFinal(current.status) && Date.now() < deadline) {
      await sleep(25);
      current = await this.deps.store.get(order.order_id);
    }
    if (!current) throw unavailable("the first request with this order_id failed; retry", 1);
    if (!isFinal(current.status)) throw conflict(`order ${order.order_id} is still being processed`);
    return orderView(current);
  }

  async newOrder(
    input: OrderInput,
    source: "sync" | "async",
    status: "pending" | "processing",
  ): Promise<Order> {
    const now = new Date().toISOString();
    const items = toLines(input.items);
    return {
      order_id: input.order_id ?? crypto.randomUUID(),
      customer_id: input.customer_id,
      items,
      total_cents: lineTotal(items),
      status,
      source,
      request_hash: await requestHash(source, input),
      created_at: now,
      updated_at: now,
    };
  }

  /** Store failures become DEPENDENCY_UNAVAILABLE (the request can be retried); refusals pass through. */
  private async guard<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      this.deps.logger.warn(`could not ${what}`, errorFields(err));
      throw unavailable(`could not ${what}; retry`, 1);
    }
  }
}
