import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Product, ProductStore } from "../../domain/products.ts";
import type { DynamoDb } from "./client.ts";

/** Products in one table keyed by `product_id` (number); each item holds exactly the Product fields. */
export class DynamoProductStore implements ProductStore {
  constructor(
    private readonly db: DynamoDb,
    private readonly table: string,
  ) {}

  async get(id: number): Promise<Product | undefined> {
    const { Item } = await this.db.policy.execute((signal) =>
      this.db.doc.send(
        // Strongly consistent: a read right after an acknowledged write must see it (the cache relies on this).
        new GetCommand({ TableName: this.table, Key: { product_id: id }, ConsistentRead: true }),
        { abortSignal: signal },
      ),
    );
    if (!Item) return undefined;
    return {
      product_id: Item.product_id,
      sku: Item.sku,
      manufacturer: Item.manufacturer,
      category_id: Item.category_id,
      weight: Item.weight,
      some_other_id: Item.some_other_id,
    };
  }

  async put(product: Product): Promise<void> {
    const item: Product = {
      product_id: product.product_id,
      sku: product.sku,
      manufacturer: product.manufacturer,
      category_id: product.category_id,
      weight: product.weight,
      some_other_id: product.some_other_id,
    };
    await this.db.policy.execute((signal) =>
      this.db.doc.send(new PutCommand({ TableName: this.table, Item: item }), { abortSignal: signal }),
    );
  }
}
