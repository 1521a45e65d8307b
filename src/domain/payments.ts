/**
 * Payment rules of the simulated gateway. Deterministic so tests and demos can choose the outcome:
 * numbers failing the Luhn check decline, and a few Luhn-valid test numbers always decline.
 */
import { z } from "@hono/zod-openapi";
import type { Cart } from "./carts.ts";
import { type Order, publicOrderId } from "./orders.ts";
import { DomainError } from "./outcomes.ts";

/** Always approve. */
export const APPROVING_CARDS = ["4242424242424242", "4111111111111111", "5555555555554444"] as const;
/** Luhn-valid but always declined (insufficient funds, stolen card). */
export const DECLINING_CARDS = ["4000000000000002", "4000000000009995"] as const;

export const CARD_NUMBER = /^[0-9]{13,19}$/;

/** A card number in a request: the shape only; whether it pays is the gateway's decision (a decline, not a 400). */
export const CardNumberSchema = z
  .string()
  .regex(CARD_NUMBER, "must be 13 to 19 digits")
  .openapi({ example: "4242424242424242" });

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** undefined approves; otherwise the decline reason. No card (orders from /orders) charges the account on file. */
export function declineReason(card: string | undefined): string | undefined {
  if (card === undefined) return undefined;
  if (!CARD_NUMBER.test(card) || !luhnValid(card)) return "card number failed validation";
  if ((DECLINING_CARDS as readonly string[]).includes(card)) return "card declined by issuer";
  return undefined;
}

/**
 * The gateway key of a charge. A cart is paid at most once, whether by POST /payments/checkout or by
 * the pipeline for the cart's order; any other order once per order id.
 */
export function chargeKey(target: { cart_id?: number; order_id?: string }): string {
  return target.cart_id !== undefined ? `cart:${target.cart_id}` : `order:${target.order_id}`;
}

export interface ChargeRequest {
  /**
   * The same key always yields the same charge: a retried or redelivered payment never charges twice.
   * A key is bound to its amount, as a real gateway's idempotency key is to its parameters: the same
   * key with another amount is refused (`mismatch`), so a replay never passes for a larger charge.
   */
  idempotencyKey: string;
  amountCents: number;
  card?: string;
  /**
   * The order's own charge (the processor's): a decline fails the order, so it is kept under the key
   * like an approval, and every later charge under the key gets it instead of a new decision — the
   * cart of a failed order is never charged by POST /payments/checkout. An approval kept first (the
   * cart paid ahead) wins and is answered instead: the ledger's write-if-absent decides the race.
   */
  settlesOrder?: boolean;
}

export type ChargeResult =
  | { approved: true; transaction_id: string }
  /**
   * `final`: kept by a charge that settled its order; the key is closed. `mismatch`: the key holds a
   * charge of another amount, `charged_cents`; nothing was charged now.
   */
  | { approved: false; reason: string; final?: true; mismatch?: { charged_cents: number } };

/** The refusal of a charge whose key already holds `charged_cents` (a decision kept under it). */
export function amountMismatch(key: string, chargedCents: number, requestedCents: number): ChargeResult {
  return {
    approved: false,
    reason: `idempotency key ${key} was used for ${chargedCents} cents, not ${requestedCents}`,
    mismatch: { charged_cents: chargedCents },
  };
}

/** An order's failure reason when its charge was declined. */
export const declinedFailure = (reason: string) => `payment declined: ${reason}`;

/**
 * A cart is charged only for a live order. Before it has one (open, or its checkout not yet stored)
 * it may be paid ahead, under the cart's key, which fixes its lines (Cart.paid_lines): its order is
 * priced from them and its charge replays that payment, for the same amount; a
 * pending, processing or completed order's cart is charged that order's total (a completed one
 * replays the order's charge). A failed order released its stock and never ships: ORDER_FAILED, and
 * nothing is charged — the cart's checkout stays final, as CART_CHECKED_OUT says.
 */
export function cartChargeRefusal(cart: Cart, order: Order | undefined): DomainError | undefined {
  if (order?.status !== "failed") return undefined;
  return orderFailed(cart, publicOrderId(order), order.failure_reason);
}

/** ORDER_FAILED for `cart`, whose order `orderId` failed for `reason`. */
export function orderFailed(cart: Cart, orderId: number | string | undefined, reason?: string): DomainError {
  return new DomainError(
    "ORDER_FAILED",
    `shopping cart ${cart.shopping_cart_id} is not charged: its order ${orderId} failed`,
    { ...(reason === undefined ? {} : { details: reason }), data: { order_id: orderId } },
  );
}

/** A decline is a result, not an error: only gateway faults throw (and are retried by the policy). */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

export interface ChargeRecord {
  key: string;
  amount_cents: number;
  result: ChargeResult;
  at: string;
}

/** The simulated gateway's ledger: one approved charge per idempotency key, written only if absent. */
export interface ChargeLedger {
  get(key: string): Promise<ChargeRecord | undefined>;
  /** Returns the record that holds: `record` if it was first, else the one already there. */
  record(record: ChargeRecord): Promise<ChargeRecord>;
}
