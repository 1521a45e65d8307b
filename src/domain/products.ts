import { z } from "@hono/zod-openapi";
import { int32 } from "./ids.ts";

export const ProductSchema = z
  .object({
    product_id: int32(1).openapi({ example: 12345, description: "Unique identifier for the product" }),
    sku: z.string().min(1).max(100).openapi({ example: "ABC-123-XYZ", description: "Stock Keeping Unit" }),
    manufacturer: z.string().min(1).max(200).openapi({ example: "Acme Corporation" }),
    category_id: int32(1).openapi({ example: 456 }),
    weight: int32(0).openapi({ example: 1250, description: "Product weight in grams" }),
    some_other_id: int32(1).openapi({ example: 789 }),
  })
  .openapi("Product");

export type Product = z.infer<typeof ProductSchema>;

/** The port every product store implements: memory by default, DynamoDB when configured. */
export interface ProductStore {
  get(id: number): Promise<Product | undefined>;
  /**
   * The same read without a promise, on stores that hold products in this process: the catalog then
   * answers an uncached read synchronously and the product route awaits nothing (docs/benchmarks.md).
   */
  getNow?(id: number): Product | undefined;
  /** Creates or replaces. */
  put(product: Product): Promise<void>;
}

/** The deterministic demo catalogue `shop seed` and the benchmarks load. */
export function demoProduct(id: number): Product {
  const makers = [
    "Acme Corporation",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Enterprises",
  ];
  return {
    product_id: id,
    sku: `SKU-${String(id).padStart(8, "0")}`,
    manufacturer: makers[id % makers.length] ?? "Acme Corporation",
    category_id: (id % 50) + 1,
    weight: (id * 37) % 5000,
    some_other_id: (id % 1000) + 1,
  };
}
