import type { InventoryStore, Stock, StockResult } from "../../domain/inventory.ts";

/** Single-threaded JS makes each method one atomic step: no await between the check and the write. */
export class MemoryInventoryStore implements InventoryStore {
  private readonly items = new Map<number, Stock>();

  async get(productId: number): Promise<Stock | undefined> {
    const i = this.items.get(productId);
    return i && { ...i };
  }

  async setStock(productId: number, available: number, priceCents?: number): Promise<void> {
    const i = this.items.get(productId);
    if (i) {
      i.available = available;
      if (priceCents !== undefined) i.price_cents = priceCents;
      return;
    }
    const item: Stock = { product_id: productId, available, reserved: 0, shipped: 0 };
    if (priceCents !== undefined) item.price_cents = priceCents;
    this.items.set(productId, item);
  }

  async reserve(productId: number, quantity: number): Promise<StockResult> {
    const i = this.items.get(productId);
    if (!i) return "not_found";
    if (i.available < quantity) return "insufficient";
    i.available -= quantity;
    i.reserved += quantity;
    return "ok";
  }

  async ship(productId: number, quantity: number): Promise<StockResult> {
    const i = this.items.get(productId);
    if (!i) return "not_found";
    if (i.reserved < quantity) return "insufficient";
    i.reserved -= quantity;
    i.shipped += quantity;
    return "ok";
  }

  /** The live stock item, for MemoryCommerceWrites only: its atomic steps check and change it without an await. */
  live(productId: number): Stock | undefined {
    return this.items.get(productId);
  }
}
