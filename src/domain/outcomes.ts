/**
 * How a use case says no. Every refusal carries a code from this list; the HTTP edge maps codes to
 * statuses in one table (its errors.ts), and nothing below it knows about HTTP. The processor and the
 * CLI see the same codes the API does.
 */

export const OUTCOME_CODES = [
  "INVALID_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "CART_EMPTY",
  "CART_CHECKED_OUT",
  /** The cart was paid ahead of its checkout: its lines are fixed. */
  "CART_PAID",
  "INSUFFICIENT_STOCK",
  "PAYMENT_DECLINED",
  /** The cart's order failed (declined, stock released): the cart is not charged again. */
  "ORDER_FAILED",
  "BID_TOO_LOW",
  "AUCTION_CLOSED",
  /** A dependency failed, timed out or has its circuit open: nothing is known to have happened. */
  "DEPENDENCY_UNAVAILABLE",
  /** Lost a race that a retry wins (an order id taken, optimistic bids exhausted). */
  "TRY_AGAIN",
] as const;

export type OutcomeCode = (typeof OUTCOME_CODES)[number];

/** Machine-readable facts of a refusal (the order id, the short lines, the current bid), as JSON. */
export type OutcomeData = Record<string, unknown>;

export interface OutcomeInfo {
  /** For people, like the message: the contract types `details` as a string. */
  details?: string;
  data?: OutcomeData;
  /** When a retry may succeed, in seconds. */
  retryAfterS?: number;
}

export class DomainError extends Error {
  override name = "DomainError";
  readonly details: string | undefined;
  readonly data: OutcomeData | undefined;
  readonly retryAfterS: number | undefined;

  constructor(
    readonly code: OutcomeCode,
    message: string,
    info: OutcomeInfo = {},
  ) {
    super(message);
    this.details = info.details;
    this.data = info.data;
    this.retryAfterS = info.retryAfterS;
  }
}

/**
 * "Not now" rather than "no": the same request may succeed later, so it is never kept as the request's
 * answer (an Idempotency-Key replays final outcomes only).
 */
export const isTransient = (code: OutcomeCode): boolean =>
  code === "DEPENDENCY_UNAVAILABLE" || code === "TRY_AGAIN";

export const invalidInput = (message: string, details?: string) =>
  new DomainError("INVALID_INPUT", message, { details });
export const notFound = (message: string) => new DomainError("NOT_FOUND", message);
export const conflict = (message: string, info?: OutcomeInfo) => new DomainError("CONFLICT", message, info);
export const unavailable = (message: string, retryAfterS?: number) =>
  new DomainError("DEPENDENCY_UNAVAILABLE", message, { retryAfterS });
