/**
 * Money is integer cents everywhere inside; JSON carries decimal numbers with at most two places.
 * Cents are found by rounding ×100 and then checked by dividing back, so 19.99 (stored in binary as
 * 19.989999…) is 1999 cents while 19.999 is refused rather than silently rounded.
 */

/** Largest accepted unit price: keeps 100 lines × 10000 units × price well inside 2^53 cents. */
export const MAX_PRICE = 1_000_000;

export function toCents(amount: number): number | undefined {
  if (!Number.isFinite(amount) || amount < 0 || amount > MAX_PRICE) return undefined;
  const cents = Math.round(amount * 100);
  return cents / 100 === amount ? cents : undefined;
}

export function fromCents(cents: number): number {
  return cents / 100;
}
