/** Shopping carts: lines merge by product; checkout moves open → checking_out → checked_out once. */

export type CartStatus = "open" | "checking_out" | "checked_out";

export interface Cart {
  shopping_cart_id: number;
  customer_id: number;
  /** product_id → quantity. */
  items: Record<string, number>;
  status: CartStatus;
  order_id?: number;
  created_at: string;
}

export const MAX_LINE_QUANTITY = 2_147_483_647;

export interface CartStore {
  create(cart: Cart): Promise<void>;
  get(cartId: number): Promise<Cart | undefined>;
  /** Adds to the line atomically; "not_open" once checkout started, "too_many" past int32. */
  addItem(
    cartId: number,
    productId: number,
    quantity: number,
  ): Promise<"ok" | "not_found" | "not_open" | "too_many">;
  /** Conditional status change: false when the cart is not in `from`. */
  setStatus(cartId: number, from: CartStatus, to: CartStatus, orderId?: number): Promise<boolean>;
}
