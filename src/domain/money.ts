/**
 * Money is integer cents everywhere inside; JSON carries decimal numbers with at most two places.
 * Cents are found by rounding ×100 and then checked by dividing back, so 19.99 (stored in binary as
 * 19.989999…) is 1999 cents while 19.999 is refused rather than silently rounded. How large an amount
 * may be is the field's business (a unit price, a bid); `toCents` only refuses what cents cannot hold.
 */
import { z } from "@hono/zod-openapi";

/** 10^12 currency units: far above any real amount, far below 2^53 so cents stay exact in JS and in Lua. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** Largest accepted unit price: keeps 100 lines × 10000 units × price well inside 2^53 cents. */
export const MAX_PRICE = 1_000_000;

/** `amount` as exact integer cents, or undefined when it has more than two decimals or is out of range. */
export function toCents(amount: number): number | undefined {
  if (!Number.isFinite(amount) || Math.abs(amount) > MAX_AMOUNT) return undefined;
  const cents = Math.round(amount * 100);
  return cents / 100 === amount ? cents : undefined;
}

/** The JSON number for `cents`: the double nearest to cents/100, which prints with at most 2 decimals. */
export const fromCents = (cents: number): number => cents / 100;

export interface MoneyField {
  /** Smallest accepted amount; with `positive`, amounts must be above it instead. */
  min: number;
  positive?: boolean;
  max: number;
  /** How `max` reads in the error (10^12 rather than 1000000000000). */
  maxLabel?: string;
  example: number;
}

/** A JSON number of money in a request: at most two decimals, within the field's bounds. */
export const moneyNumber = ({ min, positive, max, maxLabel, example }: MoneyField) =>
  z
    .number()
    .refine(
      (n) => (positive ? n > min : n >= min),
      positive ? `must be greater than ${min}` : `must be at least ${min}`,
    )
    .refine(
      (n) => n <= max && toCents(n) !== undefined,
      `must have at most 2 decimals and be at most ${maxLabel ?? max}`,
    )
    // The bounds are published (OpenAPI 3.0: exclusiveMinimum is a flag on minimum) so clients and
    // generated inputs see them; "two decimals" has no JSON Schema form that survives binary doubles
    // (multipleOf 0.01 refuses 19.99 in most validators), so it is said by `x-decimals`.
    .openapi({
      type: "number",
      minimum: min,
      ...(positive ? { exclusiveMinimum: true } : {}),
      maximum: max,
      "x-decimals": 2,
      example,
      description: "Amount; at most 2 decimals",
    });

/** The same field, converted to cents by the schema itself. */
export const moneyCents = (field: MoneyField) => moneyNumber(field).transform((n) => toCents(n) as number);
