import type { Product, ProductStore } from "../../domain/products.ts";

export class MemoryProductStore implements ProductStore {
  private readonly products = new Map<number, Product>();

  async get(id: number): Promise<Product | undefined> {
    return this.products.get(id);
  }

  getNow(id: number): Product | undefined {
    return this.products.get(id);
  }

  async put(product: Product): Promise<void> {
    this.products.set(product.product_id, { ...product });
  }
}
