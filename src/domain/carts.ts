/**
 * Shopping carts: lines merge by product; checkout moves open → checking_out → checked_out once. A
 * payment ahead (before checkout) fixes the lines and their prices: the cart takes no more items, and
 * its order is priced from what was paid, so the order's charge replays the payment for the same amount.
 */
import { DomainError } from "./outcomes.ts";

export type CartStatus = "open" | "checking_out" | "checked_out";

export interface Cart {
  shopping_cart_id: number;
  customer_id: number;
  /** product_id → quantity. */
  items: Record<string, number>;
  status: CartStatus;
  /** Set when checkout begins: the order that checkout creates, so a crashed checkout can be resumed. */
  order_id?: number;
  /** Epoch ms when the current checkout began (or was last taken over). */
  checkout_started_at?: number;
  created_at: string;
  /** Set by a payment ahead: the lines it charged, at its unit prices; checkout orders exactly these. */
  paid_lines?: PaidLine[];
}

export interface PaidLine {
  product_id: number;
  quantity: number;
  price_cents: number;
}

/** Adding to a paid cart: what was paid would no longer cover its order. */
export const cartPaid = (cartId: number) =>
  new DomainError("CART_PAID", `shopping cart ${cartId} is paid: it takes no more items (a new cart does)`);

/**
 * A checkout that has held the cart this long without finishing is taken to have died with its
 * process; the next checkout request resumes it with the same order id (every step is keyed by it).
 */
export function checkoutIsStale(cart: Cart, now: number, staleMs: number): boolean {
  return (
    cart.status === "checking_out" &&
    cart.order_id !== undefined &&
    (cart.checkout_started_at ?? 0) <= now - staleMs
  );
}

export const MAX_LINE_QUANTITY = 2_147_483_647;

export interface CartStore {
  create(cart: Cart): Promise<void>;
  get(cartId: number): Promise<Cart | undefined>;
  /** Adds to the line atomically; "not_open" once checkout started, "paid" once paid ahead, "too_many" past int32. */
  addItem(
    cartId: number,
    productId: number,
    quantity: number,
  ): Promise<"ok" | "not_found" | "not_open" | "paid" | "too_many">;
  /**
   * Sets `paid_lines` on an open cart not yet paid whose items are still `items` (one conditional
   * write, so no add slips between the read that priced the lines and the payment); false otherwise.
   */
  fixPaidLines(cartId: number, items: Cart["items"], lines: PaidLine[]): Promise<boolean>;
  /** Conditional status change: false when the cart is not in `from`. */
  setStatus(cartId: number, from: CartStatus, to: CartStatus, orderId?: number): Promise<boolean>;
  /** open → checking_out for `orderId`, stamped `now`; false when the cart is not open. */
  beginCheckout(cartId: number, orderId: number, now: number): Promise<boolean>;
  /**
   * Takes over a checkout still stamped `startedAt` (so two resumers cannot both win): restamps it
   * `now`; false when another checkout moved it on.
   */
  takeOverCheckout(cartId: number, startedAt: number | undefined, now: number): Promise<boolean>;
}
