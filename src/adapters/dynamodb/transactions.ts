/**
 * The commerce writes that change several items, each ONE TransactWriteItems (all or nothing) with a
 * ClientRequestToken, because each of them was a saga of single-item writes whose compensation guessed
 * wrong when a write timed out and landed anyway:
 * - checkout: the cart (open → checked_out), the order, every line's stock (available → reserved, each
 *   conditional on enough being available) and the outbox record: a checkout either happened whole or not.
 * - accepting an async order: the order and its outbox record, so an accepted order always gets published;
 *   a sync order likewise with its takeover record, so an order whose payer gave up is still finished.
 * - finishing a cart order: the order's final status and its stock (reserved → shipped | available).
 * A timeout (or the breaker refusing an attempt) leaves the outcome unknown: the same request is sent
 * again with the same token, which DynamoDB answers with the first attempt's outcome (for 10 minutes), so
 * the caller learns what happened instead of guessing. Single-item writes elsewhere stay plain
 * conditional writes: one item is atomic already.
 */
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { Order } from "../../domain/orders.ts";
import type { OutboxRecord } from "../../domain/outbox.ts";
import { DomainError, unavailable } from "../../domain/outcomes.ts";
import {
  type CheckoutOutcome,
  type CheckoutWrite,
  type CommerceWrites,
  type FinalUpdate,
  requestToken,
  type ShortLine,
  stockLines,
} from "../../domain/transactions.ts";
import type { DependencyPolicy } from "../../resilience/policy.ts";
import { sleep } from "../../util/time.ts";
import { statusUpdate } from "./orders.ts";

/**
 * Waits before each resend of a transaction whose outcome is unknown. Each attempt is bounded by the
 * commerce-db policy's timeout (3 s); the later waits outlast its breaker's half-open delay (2 s), so a
 * pause of the database longer than one timeout is still resolved within the request.
 */
const RESEND_DELAYS_MS = [200, 1000, 2500] as const;

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]["TransactItems"]>;
interface Reason {
  Code?: string;
  Item?: Record<string, { N?: string }>;
}

export interface CommerceTables {
  orders: string;
  inventory?: string;
  carts?: string;
  outbox?: string;
}

const table = (name: string | undefined, what: string): string => {
  if (name === undefined) throw new Error(`the ${what} table is not configured for this transaction`);
  return name;
};

export class DynamoCommerceWrites implements CommerceWrites {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: CommerceTables,
    private readonly policy: DependencyPolicy,
  ) {}

  async checkout(write: CheckoutWrite, token: string): Promise<CheckoutOutcome> {
    const lines = stockLines(write.order);
    const cartNames: Record<string, string> = { "#s": "status", "#items": "items" };
    const cartValues: Record<string, unknown> = {
      ":open": "open",
      ":done": "checked_out",
      ":o": Number(write.order.order_id),
      ":n": Object.keys(write.cartItems).length,
    };
    // The lines exactly as priced: a line added since the read must not be checked out unpriced.
    const same = Object.entries(write.cartItems).map(([pid, q], i) => {
      cartNames[`#p${i}`] = pid;
      cartValues[`:q${i}`] = q;
      return `#items.#p${i} = :q${i}`;
    });
    const inventory = table(this.tables.inventory, "inventory");
    const items: TransactItems = [
      {
        Update: {
          TableName: table(this.tables.carts, "carts"),
          Key: { shopping_cart_id: write.cartId },
          UpdateExpression: "SET #s = :done, order_id = :o",
          ConditionExpression: ["#s = :open", "size(#items) = :n", ...same].join(" AND "),
          ExpressionAttributeNames: cartNames,
          ExpressionAttributeValues: cartValues,
        },
      },
      {
        Put: {
          TableName: this.tables.orders,
          Item: write.order,
          ConditionExpression: "attribute_not_exists(order_id)",
        },
      },
      { Put: { TableName: table(this.tables.outbox, "outbox"), Item: write.outbox } },
      ...lines.map((line) => ({
        Update: {
          TableName: inventory,
          Key: { product_id: line.product_id },
          UpdateExpression: "SET available = available - :q, reserved = reserved + :q",
          ConditionExpression: "attribute_exists(product_id) AND available >= :q",
          ExpressionAttributeValues: { ":q": line.quantity },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
        },
      })),
    ];
    const reasons = await this.transact(items, token);
    if (reasons === undefined) return { kind: "done" };
    if (failed(reasons[0])) return { kind: "cart_changed" };
    if (failed(reasons[1])) return { kind: "order_exists" };
    const short: ShortLine[] = [];
    lines.forEach((line, i) => {
      const reason = reasons[3 + i];
      if (!failed(reason)) return;
      short.push({
        product_id: line.product_id,
        requested: line.quantity,
        available: Number(reason?.Item?.available?.N ?? 0),
      });
    });
    if (short.length === 0) throw new Error(`checkout transaction cancelled: ${codes(reasons)}`);
    return { kind: "short", lines: short };
  }

  async acceptOrder(order: Order, outbox: OutboxRecord, token: string) {
    const reasons = await this.transact(
      [
        {
          Put: {
            TableName: this.tables.orders,
            Item: order,
            ConditionExpression: "attribute_not_exists(order_id)",
          },
        },
        { Put: { TableName: table(this.tables.outbox, "outbox"), Item: outbox } },
      ],
      token,
    );
    if (reasons === undefined) return { created: true as const };
    if (!failed(reasons[0])) throw new Error(`order transaction cancelled: ${codes(reasons)}`);
    const existing = await this.read(order.order_id);
    if (!existing) throw new Error(`order ${order.order_id} vanished while being created`);
    return { created: false as const, existing };
  }

  async finishOrder(order: Order, update: FinalUpdate, token: string): Promise<Order | undefined> {
    const names: Record<string, string> = { "#s": "status" };
    const { sets, values } = statusUpdate(update);
    values[":from"] = "processing";
    let condition = "#s = :from";
    const cartOrder = order.cart_id !== undefined;
    if (cartOrder) {
      sets.push("stock = :moved");
      values[":moved"] = update.status === "completed" ? "shipped" : "released";
      values[":held"] = "reserved";
      condition += " AND stock = :held";
    }
    const items: TransactItems = [
      {
        Update: {
          TableName: this.tables.orders,
          Key: { order_id: order.order_id },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
    ];
    if (cartOrder) {
      const inventory = table(this.tables.inventory, "inventory");
      const to = update.status === "completed" ? "shipped" : "available";
      for (const line of stockLines(order)) {
        items.push({
          Update: {
            TableName: inventory,
            Key: { product_id: line.product_id },
            UpdateExpression: `SET reserved = reserved - :q, ${to} = ${to} + :q`,
            ConditionExpression: "reserved >= :q",
            ExpressionAttributeValues: { ":q": line.quantity },
          },
        });
      }
    }
    let reasons: Reason[] | undefined;
    try {
      reasons = await this.transact(items, token);
    } catch (err) {
      if (!(err instanceof Error && err.name === "IdempotentParameterMismatchException")) throw err;
      // An earlier attempt at this step (a redelivery's, another copy's) used the token with its own
      // timestamp. Its conditions (processing, stock reserved) let only one attempt ever apply, so this
      // one goes under a token of its own rather than wait out the token's 10 minutes.
      reasons = await this.transact(items, crypto.randomUUID());
    }
    if (reasons !== undefined) return undefined;
    const stock = cartOrder ? { stock: values[":moved"] as Order["stock"] } : {};
    return { ...order, ...update, ...stock, updated_at: values[":now"] as string };
  }

  private async read(orderId: string): Promise<Order | undefined> {
    const r = await this.policy.execute((signal) =>
      this.db.send(
        new GetCommand({ TableName: this.tables.orders, Key: { order_id: orderId }, ConsistentRead: true }),
        { abortSignal: signal },
      ),
    );
    return r.Item as Order | undefined;
  }

  /**
   * Sends the transaction until its outcome is known: undefined when applied, the cancellation reasons
   * (one per item) when a condition failed. An unknown outcome (timeout, network, open breaker,
   * TransactionInProgress) is resolved by resending it with the same token; still unknown after the last
   * resend, it is DEPENDENCY_UNAVAILABLE, and the transaction may yet have happened, whole.
   */
  private async transact(items: TransactItems, token: string): Promise<Reason[] | undefined> {
    // DynamoDB keeps tokens per account and region, not per table: deployments (and test runs) sharing
    // one must not answer each other's transactions, so the orders table is part of the token.
    const command = new TransactWriteCommand({
      TransactItems: items,
      ClientRequestToken: await requestToken(this.tables.orders, token),
    });
    for (let attempt = 0; ; attempt++) {
      try {
        await this.policy.execute((signal) => this.db.send(command, { abortSignal: signal }));
        return undefined;
      } catch (err) {
        const name = err instanceof Error ? err.name : "";
        if (name === "TransactionCanceledException") {
          const reasons = (err as { CancellationReasons?: Reason[] }).CancellationReasons ?? [];
          if (!reasons.some((r) => r.Code === "TransactionConflict")) return reasons;
          // Lost to a concurrent transaction on one of the items: nothing happened; worth another go.
          if (attempt >= RESEND_DELAYS_MS.length)
            throw new DomainError("TRY_AGAIN", "too many concurrent changes to the same items; retry", {
              retryAfterS: 1,
            });
        } else if (name !== "DomainError" || attempt >= RESEND_DELAYS_MS.length) {
          if (name === "DomainError")
            throw unavailable(
              "the database did not answer; the change may still apply: retry the same request",
              2,
            );
          throw err;
        }
        await sleep(RESEND_DELAYS_MS[attempt] ?? 0);
      }
    }
  }
}

const failed = (reason: Reason | undefined) => reason?.Code === "ConditionalCheckFailed";
const codes = (reasons: Reason[]) => reasons.map((r) => r.Code ?? "?").join(",");
