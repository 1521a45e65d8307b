/**
 * The commerce writes that change more than one item, each one atomic step (a DynamoDB TransactWriteItems;
 * one synchronous step in memory). A timeout leaves such a write unknown, never half done: the caller
 * resolves it by sending the same request again under the same `token` (DynamoDB answers a repeated
 * ClientRequestToken with the first outcome for 10 minutes) or by reading the state the write decides.
 */

import { type Order, type OrderUpdate, sha256 } from "./orders.ts";
import type { OutboxRecord } from "./outbox.ts";

export interface ShortLine {
  product_id: number;
  requested: number;
  available: number;
}

export interface CheckoutWrite {
  cartId: number;
  /** The cart's lines as read and priced: the step requires the cart open with exactly these lines. */
  cartItems: Record<string, number>;
  /** The cart order (pending, its stock `reserved`, its `message_id` the outbox record's id). */
  order: Order;
  outbox: OutboxRecord;
}

export type CheckoutOutcome =
  | { kind: "done" }
  /** The cart is no longer open, or its lines changed since they were read. */
  | { kind: "cart_changed" }
  /** Another order has this id (a client of POST /orders chose it). */
  | { kind: "order_exists" }
  | { kind: "short"; lines: ShortLine[] };

/** The final status of an order; for cart orders the reserved stock moves with it. */
export type FinalUpdate = OrderUpdate & { status: "completed" | "failed" };

export interface CommerceWrites {
  /**
   * Checkout's decisive step: cart open → checked_out(order_id), the order created, every line's stock
   * moved available → reserved (each conditional on enough being available), the outbox record written.
   */
  checkout(write: CheckoutWrite, token: string): Promise<CheckoutOutcome>;
  /** An accepted order (async, or sync with its takeover record) and its outbox record; the existing order when the id is taken. */
  acceptOrder(
    order: Order,
    outbox: OutboxRecord,
    token: string,
  ): Promise<{ created: true } | { created: false; existing: Order }>;
  /**
   * processing → completed | failed; a cart order's reserved stock is shipped (completed) or released
   * (failed) in the same step, conditional on the order still holding it. Undefined when the order was
   * not processing with its stock reserved (another copy of the message finished it): re-read to know.
   */
  finishOrder(order: Order, update: FinalUpdate, token: string): Promise<Order | undefined>;
}

/** A ClientRequestToken (1–36 characters) naming one logical request: the same parts, the same token. */
export async function requestToken(...parts: (string | number)[]): Promise<string> {
  return (await sha256(JSON.stringify(parts))).slice(0, 36);
}

/** The lines of an order as stock moves: cart orders' product ids are the warehouse's numeric ids. */
export const stockLines = (order: Order) =>
  order.items.map((l) => ({ product_id: Number(l.product_id), quantity: l.quantity }));

/**
 * Lines one checkout may hold: a DynamoDB transaction takes at most 100 items, and checkout writes the
 * cart, the order and the outbox record besides one stock item per line.
 */
export const MAX_CHECKOUT_LINES = 97;
