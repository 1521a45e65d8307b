/** The warehouse's own endpoints: stock moves without an order, and the stock record itself. */
import type { InventoryStore, Stock, StockResult } from "../domain/inventory.ts";
import { DomainError, notFound } from "../domain/outcomes.ts";

const noStockRecord = (productId: number) => notFound(`product ${productId} has no stock record`);

function settle(result: StockResult, productId: number, what: "available" | "reserved"): void {
  if (result === "not_found") throw noStockRecord(productId);
  if (result === "insufficient") {
    throw new DomainError("INSUFFICIENT_STOCK", `not enough ${what} stock for product ${productId}`);
  }
}

export class WarehouseService {
  constructor(private readonly inventory: InventoryStore) {}

  /** available → reserved; INSUFFICIENT_STOCK when fewer are available. */
  async reserve(productId: number, quantity: number): Promise<void> {
    settle(await this.inventory.reserve(productId, quantity), productId, "available");
  }

  /** reserved → shipped; INSUFFICIENT_STOCK when fewer are reserved. */
  async ship(productId: number, quantity: number): Promise<void> {
    settle(await this.inventory.ship(productId, quantity), productId, "reserved");
  }

  setStock(productId: number, available: number, priceCents?: number): Promise<void> {
    return this.inventory.setStock(productId, available, priceCents);
  }

  async stock(productId: number): Promise<Stock> {
    const stock = await this.inventory.get(productId);
    if (!stock) throw noStockRecord(productId);
    return stock;
  }
}
