/**
 * Accepting orders. The async path stores the order as pending, then publishes its id; if publishing
 * fails the order is deleted again (compensation) and the client is told to retry, so a retry with the same
 * order_id starts from nothing. A crash between the two steps leaves a pending order without a
 * message: inert (nothing charges it), and the client's retry with the same order_id publishes it.
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
import { conflict, DomainError, notFound, unavailable } from "../domain/outcomes.ts";
import { chargeKey, declinedFailure, type PaymentGateway } from "../domain/payments.ts";
import type { OrderPublisher } from "../domain/queue.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
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
  gateway: PaymentGateway;
  logger: Logger;
  /** Bounds concurrent payments on the sync path (PAYMENT_CONCURRENCY). */
  paymentSlots: Semaphore;
  syncQueueTimeoutMs: number;
  paymentSimMs: number;
}

/** Why the async path is off in this process; undefined when a processor will consume what is published. */
export type PublisherState = { publisher: OrderPublisher } | { unavailable: string };

/** A request that finds its order_id freshly created but unpublished waits this long for the first one. */
const PUBLISH_GRACE_MS = 5000;

export class OrderService {
  constructor(
    private readonly deps: OrderServiceDeps,
    private readonly publisherState: PublisherState,
  ) {}

  /** False when nothing would consume what this process publishes: the async path and checkout refuse. */
  acceptsAsync(): boolean {
    return "publisher" in this.publisherState;
  }

  async view(orderId: string): Promise<OrderView> {
    const order = await this.deps.store.get(orderId);
    if (!order) throw notFound(`order ${orderId} not found`);
    return orderView(order);
  }

  /** Refuses (DEPENDENCY_UNAVAILABLE, naming what is missing) when no processor would consume what is published. */
  publisher(): OrderPublisher {
    const state = this.publisherState;
    if ("unavailable" in state) throw unavailable(state.unavailable);
    return state.publisher;
  }

  async acceptAsync(input: OrderInput): Promise<AsyncAccepted> {
    const publisher = this.publisher();
    const order = await this.newOrder(input, "async", "pending");
    const deadline = Date.now() + PUBLISH_GRACE_MS;
    for (;;) {
      const created = await this.guard("store the order", () => this.deps.store.create(order));
      if (created.created) return this.publish(publisher, order);
      const existing = created.existing;
      if (existing.request_hash !== order.request_hash || existing.source !== "async") {
        throw conflict(`order ${order.order_id} already exists with a different payload`);
      }
      if (existing.message_id !== undefined) {
        return { order_id: existing.order_id, status: "pending", message_id: existing.message_id };
      }
      // The first request may still be publishing (or failing and deleting): wait for it, then take over.
      // An order older than the grace period was left by a crash: take over at once.
      const age = Date.now() - Date.parse(existing.created_at);
      if (age >= PUBLISH_GRACE_MS || Date.now() >= deadline) return this.publish(publisher, existing);
      await sleep(20);
    }
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

  /** Publishes an order already stored; on failure the order is removed and the caller is told to retry. */
  async publish(publisher: OrderPublisher, order: Order): Promise<AsyncAccepted> {
    let messageId: string;
    try {
      messageId = await publisher.publish(JSON.stringify({ order_id: order.order_id }));
    } catch (err) {
      this.deps.logger.warn("publishing the order failed; removing it", {
        order_id: order.order_id,
        ...errorFields(err),
      });
      await this.deps.store.discard(order.order_id, order.request_hash).catch((e) =>
        this.deps.logger.error("could not remove the unpublished order", {
          order_id: order.order_id,
          ...errorFields(e),
        }),
      );
      throw unavailable("the order queue is unavailable; retry with the same order_id", 1);
    }
    await this.deps.store.setMessageId(order.order_id, messageId).catch((err) =>
      // The message is out and the processor reads the order itself; only the replayed message_id is lost.
      this.deps.logger.warn("could not record the message id", {
        order_id: order.order_id,
        ...errorFields(err),
      }),
    );
    return { order_id: order.order_id, status: "pending", message_id: messageId };
  }

  /** Charges inline: the seeds' synchronous design, bounded by PAYMENT_CONCURRENCY. */
  async placeSync(input: OrderInput): Promise<OrderView> {
    const order = await this.newOrder(input, "sync", "processing");
    const created = await this.guard("store the order", () => this.deps.store.create(order));
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
