import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { InventoryStore, Stock, StockResult } from "../../domain/inventory.ts";
import { isConditionFailed } from "./errors.ts";

/**
 * INVENTORY_TABLE, partition key product_id (N). Each change here is one conditional UpdateItem; stock
 * moved for an order moves inside that order's transaction (./transactions.ts), so the item holds only
 * its quantities, whatever the number of orders (an older item may still carry an `ops` map of
 * per-order tags, which nothing reads any more).
 */
export class DynamoInventoryStore implements InventoryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(productId: number): Promise<Stock | undefined> {
    const r = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { product_id: productId },
        ConsistentRead: true,
        ProjectionExpression: "product_id, available, reserved, shipped, price_cents",
      }),
    );
    return r.Item as Stock | undefined;
  }

  async setStock(productId: number, available: number, priceCents?: number): Promise<void> {
    const values: Record<string, unknown> = { ":a": available, ":z": 0 };
    let set = "available = :a, reserved = if_not_exists(reserved, :z), shipped = if_not_exists(shipped, :z)";
    if (priceCents !== undefined) {
      set += ", price_cents = :p";
      values[":p"] = priceCents;
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { product_id: productId },
        UpdateExpression: `SET ${set}`,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Runs a conditional update; false when the condition failed. */
  private async update(
    productId: number,
    expression: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { product_id: productId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async reserve(productId: number, quantity: number): Promise<StockResult> {
    const ok = await this.update(
      productId,
      "SET available = available - :q, reserved = reserved + :q",
      "attribute_exists(product_id) AND available >= :q",
      { ":q": quantity },
    );
    return ok ? "ok" : (await this.get(productId)) ? "insufficient" : "not_found";
  }

  async ship(productId: number, quantity: number): Promise<StockResult> {
    const ok = await this.update(
      productId,
      "SET reserved = reserved - :q, shipped = shipped + :q",
      "attribute_exists(product_id) AND reserved >= :q",
      { ":q": quantity },
    );
    return ok ? "ok" : (await this.get(productId)) ? "insufficient" : "not_found";
  }
}
