/**
 * Shopping carts: lines merge by product; checkout moves open → checked_out once, in the same atomic step
 * that creates its order and reserves its stock (src/domain/transactions.ts), so no state lies between.
 * A payment ahead (before checkout) fixes the lines and their prices: the cart takes no more items, and
 * its order is priced from what was paid, so the order's charge replays the payment for the same amount.
 */
import { DomainError } from "./outcomes.ts";

export type CartStatus = "open" | "checked_out";

export interface Cart {
  shopping_cart_id: number;
  customer_id: number;
  /** product_id → quantity. */
  items: Record<string, number>;
  status: CartStatus;
  /** Set by checkout: the cart's order. */
  order_id?: number;
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

export const MAX_LINE_QUANTITY = 2_147_483_647;

export interface CartStore {
  create(cart: Cart): Promise<void>;
  get(cartId: number): Promise<Cart | undefined>;
  /** Adds to the line atomically; "not_open" once checked out, "paid" once paid ahead, "too_many" past int32. */
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
}
