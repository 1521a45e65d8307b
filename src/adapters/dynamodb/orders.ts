import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  allowedFrom,
  type Order,
  type OrderStatus,
  type OrderStore,
  type OrderUpdate,
} from "../../domain/orders.ts";
import { isConditionFailed } from "./errors.ts";

/** ORDERS_TABLE, partition key order_id (S). Every status change is a conditional update. */
export class DynamoOrderStore implements OrderStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(orderId: string): Promise<Order | undefined> {
    const r = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { order_id: orderId }, ConsistentRead: true }),
    );
    return r.Item as Order | undefined;
  }

  async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: order,
          ConditionExpression: "attribute_not_exists(order_id)",
        }),
      );
      return { created: true };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const existing = await this.get(order.order_id);
      if (!existing) throw new Error(`order ${order.order_id} vanished while being created`);
      return { created: false, existing };
    }
  }

  async transition(
    orderId: string,
    from: readonly OrderStatus[],
    update: OrderUpdate,
  ): Promise<Order | undefined> {
    const sources = allowedFrom(from, update.status);
    if (sources.length === 0) return undefined;
    const names: Record<string, string> = { "#s": "status" };
    const { sets, values } = statusUpdate(update);
    sources.forEach((s, i) => {
      values[`:f${i}`] = s;
    });
    try {
      const r = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { order_id: orderId },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: `#s IN (${sources.map((_, i) => `:f${i}`).join(", ")})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return r.Attributes as Order;
    } catch (err) {
      if (isConditionFailed(err)) return undefined;
      throw err;
    }
  }
}

/**
 * The SET clauses and values of a status change (`#s` is the status): the new status, the time, and
 * the failure reason or transaction id it carries. Shared by the plain transition and the transaction
 * that finishes an order (./transactions.ts).
 */
export function statusUpdate(update: OrderUpdate): { sets: string[]; values: Record<string, unknown> } {
  const values: Record<string, unknown> = { ":to": update.status, ":now": new Date().toISOString() };
  const sets = ["#s = :to", "updated_at = :now"];
  if (update.failure_reason !== undefined) {
    sets.push("failure_reason = :fr");
    values[":fr"] = update.failure_reason;
  }
  if (update.transaction_id !== undefined) {
    sets.push("transaction_id = :tx");
    values[":tx"] = update.transaction_id;
  }
  return { sets, values };
}
