/**
 * Shopping carts: lines merge by product; checkout moves open → checked_out once, in the same atomic step
 * that creates its order and reserves its stock (src/domain/transactions.ts), so no state lies between.
 */

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
}

export const MAX_LINE_QUANTITY = 2_147_483_647;

export interface CartStore {
  create(cart: Cart): Promise<void>;
  get(cartId: number): Promise<Cart | undefined>;
  /** Adds to the line atomically; "not_open" once checked out, "too_many" past int32. */
  addItem(
    cartId: number,
    productId: number,
    quantity: number,
  ): Promise<"ok" | "not_found" | "not_open" | "too_many">;
}
