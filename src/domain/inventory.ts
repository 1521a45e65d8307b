/**
 * Warehouse stock per product: available → reserved → shipped. Every change is one conditional write
 * on one item, so concurrent writers never oversell. Changes made for an order are tagged with its
 * id on the stock item itself: reserving, shipping and releasing for that order are then each
 * applied at most once, whatever the retries and redeliveries.
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
/** What became of an order's line: applied now, or found already in the wanted state. */
export type OrderStockResult = "ok" | "already" | "insufficient" | "not_found";

export interface InventoryStore {
  get(productId: number): Promise<Stock | undefined>;
  /** Sets the available quantity (and price when given); reserved and shipped stay. */
  setStock(productId: number, available: number, priceCents?: number): Promise<void>;
  reserve(productId: number, quantity: number): Promise<StockResult>;
  ship(productId: number, quantity: number): Promise<StockResult>;
  /** available → reserved for this order, once. */
  reserveFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult>;
  /** reserved → shipped for this order, once. */
  shipFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult>;
  /** reserved → available for this order, once. */
  releaseFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult>;
}
