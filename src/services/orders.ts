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
  type OrderUpdate,
  type OrderView,
  orderView,
  requestHash,
  toLines,
} from "../domain/orders.ts";
import { type OutboxRecord, type OutboxStore, orderMessageRecord } from "../domain/outbox.ts";
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
  /** Where a finished sync order's takeover record is removed from; absent where none is written. */
  outbox?: Pick<OutboxStore, "markSent">;
  gateway: PaymentGateway;
  logger: Logger;
  /** Bounds concurrent payments on the sync path (PAYMENT_CONCURRENCY). */
  paymentSlots: Semaphore;
  syncQueueTimeoutMs: number;
  /**
   * How long a sync order is left to its payer before anyone may take it over (Order.takeover_at): its
   * charge plus slack. It decides who does the work, never what is charged.
   */
  syncTakeoverMs: number;
}

/** What publishes committed outbox records (the outbox relay). */
export interface Relay {
  handOver(record: OutboxRecord): void;
}

/** The relay when a processor will consume what is published; else why the async path is off here. */
export type IntakeState = { relay: Relay } | { unavailable: string };

/**
 * A sync order's payer is left its charge (PAYMENT_SIM_MS) plus this before a takeover may start: room
 * for the payment policy's retries and the final write, so a takeover normally finds nobody paying.
 */
const SYNC_TAKEOVER_SLACK_MS = 10_000;

export const syncTakeoverMs = (paymentSimMs: number) => paymentSimMs + SYNC_TAKEOVER_SLACK_MS;

/** Waits before resending a plain sync create whose answer was lost; then the request answers 503. */
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

  /**
   * Charges inline: the seeds' synchronous design, bounded by PAYMENT_CONCURRENCY. The slot is taken
   * before anything is stored, so a request refused for want of one leaves nothing behind. Once stored,
   * the order is never removed (a failure may be a charge that landed): it stays processing until its
   * payer, a resend with its order_id or the processor (through its takeover record) finishes it from
   * the ledger under the order's charge key.
   */
  async placeSync(input: OrderInput): Promise<OrderView> {
    const { paymentSlots, syncQueueTimeoutMs } = this.deps;
    if (!(await paymentSlots.acquire(syncQueueTimeoutMs))) {
      throw unavailable(`all payment slots busy for ${syncQueueTimeoutMs} ms; retry later`, 1);
    }
    let held = true;
    const release = () => {
      if (held) paymentSlots.release();
      held = false;
    };
    try {
      const order: Order = {
        ...(await this.newOrder(input, "sync", "processing")),
        request_id: crypto.randomUUID(),
        takeover_at: Date.now() + this.deps.syncTakeoverMs,
      };
      const created = await this.createSync(order);
      if (created.created) return await this.paySync(order);
      // Waiting for another request's answer needs no payment slot.
      release();
      return await this.replaySync(created.existing, order);
    } finally {
      release();
    }
  }

  /**
   * Stores a new sync order. Where a processor consumes this process's outbox, the order goes with a
   * takeover record in one transaction (its resends after a timeout are the same one), which no sweep
   * publishes before `takeover_at`: an order whose create answered 503 but landed later, or whose payer
   * gave up, is then finished by the processor. Without one (`--role api` on the in-process queue, memory
   * stores) a plain create, resent on a lost answer; only a resend finishes an order left processing there.
   * An order carrying this request's own request_id is its landed write, which this request then pays.
   */
  private async createSync(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    const write =
      "relay" in this.intakeState ? await this.withTakeover(order) : () => this.deps.store.create(order);
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.guard("store the order", write);
        if (!r.created && r.existing.request_id === order.request_id) return { created: true };
        return r;
      } catch (err) {
        const unknown = err instanceof DomainError && err.code === "DEPENDENCY_UNAVAILABLE";
        // A transaction has already been resent under its token: its 503 is final for this request.
        if (!unknown || "relay" in this.intakeState || attempt >= CREATE_RESENDS_MS.length) throw err;
        await sleep(CREATE_RESENDS_MS[attempt] ?? 0);
      }
    }
  }

  private async withTakeover(order: Order) {
    const record = { ...orderMessageRecord(order.order_id, traceCarrier()), not_before: order.takeover_at };
    order.message_id = record.id;
    const token = await requestToken("sync", order.order_id, order.request_id ?? "");
    return () => this.deps.writes.acceptOrder(order, record, token);
  }

  /**
   * Charges a processing sync order under its key and finishes it. Whoever runs it (the payer, a resend
   * taking over) gets the ledger's one decision for the key: a charge that landed is replayed, a decline
   * kept (settlesOrder) is answered again, so the order ends as the money did, charged once. A failure
   * leaves the order processing for the next taker; nothing is undone.
   */
  private async paySync(order: Order): Promise<OrderView> {
    const result = await this.guard("charge the order", () =>
      this.deps.gateway.charge({
        idempotencyKey: chargeKey(order),
        amountCents: order.total_cents,
        settlesOrder: true,
      }),
    );
    const update: OrderUpdate = result.approved
      ? { status: "completed", transaction_id: result.transaction_id }
      : { status: "failed", failure_reason: declinedFailure(result.reason) };
    const done = await this.guard("finish the order", async () => {
      const moved = await this.deps.store.transition(order.order_id, ["processing"], update);
      // Another taker finished it first, from the same ledger decision.
      return moved ?? (await this.deps.store.get(order.order_id));
    });
    if (!done || !isFinal(done.status)) {
      throw new Error(`order ${order.order_id} left processing while being paid`);
    }
    const record = order.message_id;
    if (record !== undefined && this.deps.outbox) {
      // Done: the takeover record is not needed. Left behind (a lost delete), it only makes the processor
      // find the order final.
      this.deps.outbox.markSent(record).catch((err) => {
        this.deps.logger.warn("could not remove a sync order's takeover record", errorFields(err));
      });
    }
    return orderView(done);
  }

  /**
   * Another request with this order_id: its answer is the order's, once final. An order still processing
   * at its takeover_at has no live payer to wait for (it gave up, or died): this request finishes it.
   */
  private async replaySync(existing: Order, order: Order): Promise<OrderView> {
    if (existing.request_hash !== order.request_hash || existing.source !== "sync") {
      throw conflict(`order ${order.order_id} already exists with a different payload`);
    }
    const takeoverAt = existing.takeover_at ?? Date.parse(existing.created_at) + this.deps.syncTakeoverMs;
    let current: Order | undefined = existing;
    while (current && !isFinal(current.status) && Date.now() < takeoverAt) {
      await sleep(25);
      current = await this.guard("read the order", () => this.deps.store.get(order.order_id));
    }
    if (!current) throw new Error(`order ${order.order_id} vanished`);
    if (isFinal(current.status)) return orderView(current);
    const { paymentSlots, syncQueueTimeoutMs } = this.deps;
    if (!(await paymentSlots.acquire(syncQueueTimeoutMs))) {
      throw unavailable(`all payment slots busy for ${syncQueueTimeoutMs} ms; retry later`, 1);
    }
    try {
      return await this.paySync(current);
    } finally {
      paymentSlots.release();
    }
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
