import type { InventoryStore, OrderStockResult, Stock, StockResult } from "../../domain/inventory.ts";

interface Item extends Stock {
  /** order id → "r" (reserved for it) | "s" (shipped for it); see src/domain/inventory.ts. */
  ops: Map<string, "r" | "s">;
}

/** Single-threaded JS makes each method one atomic step: no await between the check and the write. */
export class MemoryInventoryStore implements InventoryStore {
  private readonly items = new Map<number, Item>();

  async get(productId: number): Promise<Stock | undefined> {
    const i = this.items.get(productId);
    if (!i) return undefined;
    const { ops: _ops, ...stock } = i;
    return stock;
  }

  async setStock(productId: number, available: number, priceCents?: number): Promise<void> {
    const i = this.items.get(productId);
    if (i) {
      i.available = available;
      if (priceCents !== undefined) i.price_cents = priceCents;
      return;
    }
    const item: Item = { product_id: productId, available, reserved: 0, shipped: 0, ops: new Map() };
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

  async reserveFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult> {
    const i = this.items.get(productId);
    if (!i) return "not_found";
    if (i.ops.has(orderId)) return "already";
    if (i.available < quantity) return "insufficient";
    i.available -= quantity;
    i.reserved += quantity;
    i.ops.set(orderId, "r");
    return "ok";
  }

  async shipFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult> {
    const i = this.items.get(productId);
    if (!i) return "not_found";
    if (i.ops.get(orderId) !== "r") return "already";
    i.reserved -= quantity;
    i.shipped += quantity;
    i.ops.set(orderId, "s");
    return "ok";
  }

  async releaseFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult> {
    const i = this.items.get(productId);
    if (!i) return "not_found";
    if (i.ops.get(orderId) !== "r") return "already";
    i.reserved -= quantity;
    i.available += quantity;
    i.ops.delete(orderId);
    return "ok";
  }
}
