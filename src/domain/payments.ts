/**
 * Payment rules of the simulated gateway. Deterministic so tests and demos can choose the outcome:
 * numbers failing the Luhn check decline, and a few Luhn-valid test numbers always decline.
 */
import { z } from "@hono/zod-openapi";

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
  /** The same key always yields the same charge: a retried or redelivered payment never charges twice. */
  idempotencyKey: string;
  amountCents: number;
  card?: string;
}

export type ChargeResult = { approved: true; transaction_id: string } | { approved: false; reason: string };

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
