/**
 * Warehouse stock per product: available → reserved → shipped. Every change is conditional on the
 * quantity it takes, so concurrent writers never oversell. Stock moved for an order moves in the same
 * atomic step as the order's own `stock` state (src/domain/transactions.ts): that state, not a tag on the
 * stock item, is what makes each move happen once per order.
 */

export interface Stock {
  product_id: number;
  available: number;
  reserved: number;
  shipped: number;
  /** Unit price in cents, when the warehouse knows it; carts and orders use it. */
  price_cents?: number;
}

export type StockResult = "ok" | "insufficient" | "not_found";
export interface InventoryStore {
  get(productId: number): Promise<Stock | undefined>;
  /** Sets the available quantity (and price when given); reserved and shipped stay. */
  setStock(productId: number, available: number, priceCents?: number): Promise<void>;
  reserve(productId: number, quantity: number): Promise<StockResult>;
  ship(productId: number, quantity: number): Promise<StockResult>;
}
