import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { InventoryStore, OrderStockResult, Stock, StockResult } from "../../domain/inventory.ts";
import { isConditionFailed } from "./errors.ts";

interface Item extends Stock {
  ops?: Record<string, "r" | "s">;
}

/**
 * INVENTORY_TABLE, partition key product_id (N). Each change is one conditional UpdateItem; the
 * per-order tags of src/domain/inventory.ts live in the item's `ops` map, so the tag check and the
 * quantity change are one atomic write. Shipped orders' tags stay: the item grows ~9 bytes per order and
 * reaches DynamoDB's 400 KB item limit after ~45,000 orders (7-digit ids), when every reserveFor fails.
 */
export class DynamoInventoryStore implements InventoryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async item(productId: number): Promise<Item | undefined> {
    const r = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { product_id: productId }, ConsistentRead: true }),
    );
    return r.Item as Item | undefined;
  }

  async get(productId: number): Promise<Stock | undefined> {
    const i = await this.item(productId);
    if (!i) return undefined;
    const { ops: _ops, ...stock } = i;
    return stock;
  }

  async setStock(productId: number, available: number, priceCents?: number): Promise<void> {
    const values: Record<string, unknown> = { ":a": available, ":z": 0, ":e": {} };
    let set =
      "available = :a, reserved = if_not_exists(reserved, :z), shipped = if_not_exists(shipped, :z), ops = if_not_exists(ops, :e)";
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
    orderId?: string,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { product_id: productId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ...(orderId === undefined ? {} : { ExpressionAttributeNames: { "#o": orderId } }),
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
    return ok ? "ok" : (await this.item(productId)) ? "insufficient" : "not_found";
  }

  async ship(productId: number, quantity: number): Promise<StockResult> {
    const ok = await this.update(
      productId,
      "SET reserved = reserved - :q, shipped = shipped + :q",
      "attribute_exists(product_id) AND reserved >= :q",
      { ":q": quantity },
    );
    return ok ? "ok" : (await this.item(productId)) ? "insufficient" : "not_found";
  }

  async reserveFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult> {
    const ok = await this.update(
      productId,
      "SET available = available - :q, reserved = reserved + :q, ops.#o = :r",
      "attribute_exists(product_id) AND available >= :q AND attribute_not_exists(ops.#o)",
      { ":q": quantity, ":r": "r" },
      orderId,
    );
    if (ok) return "ok";
    const item = await this.item(productId);
    if (!item) return "not_found";
    return item.ops?.[orderId] ? "already" : "insufficient";
  }

  async shipFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult> {
    const ok = await this.update(
      productId,
      "SET reserved = reserved - :q, shipped = shipped + :q, ops.#o = :s",
      "ops.#o = :r",
      { ":q": quantity, ":r": "r", ":s": "s" },
      orderId,
    );
    return ok ? "ok" : (await this.item(productId)) ? "already" : "not_found";
  }

  async releaseFor(orderId: string, productId: number, quantity: number): Promise<OrderStockResult> {
    const ok = await this.update(
      productId,
      "SET reserved = reserved - :q, available = available + :q REMOVE ops.#o",
      "ops.#o = :r",
      { ":q": quantity, ":r": "r" },
      orderId,
    );
    return ok ? "ok" : (await this.item(productId)) ? "already" : "not_found";
  }
}
