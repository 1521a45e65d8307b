import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Cart, type CartStore, MAX_LINE_QUANTITY, type PaidLine } from "../../domain/carts.ts";
import { isConditionFailed } from "./errors.ts";

/**
 * CARTS_TABLE, partition key shopping_cart_id (N); lines are a map updated in place with ADD-like SETs.
 * Checkout closes the cart inside its transaction (./transactions.ts).
 */
export class DynamoCartStore implements CartStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(cart: Cart): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: cart,
        ConditionExpression: "attribute_not_exists(shopping_cart_id)",
      }),
    );
  }

  async get(cartId: number): Promise<Cart | undefined> {
    const r = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { shopping_cart_id: cartId }, ConsistentRead: true }),
    );
    return r.Item as Cart | undefined;
  }

  async addItem(cartId: number, productId: number, quantity: number) {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { shopping_cart_id: cartId },
          UpdateExpression: "SET #items.#p = if_not_exists(#items.#p, :z) + :q",
          ConditionExpression:
            "attribute_exists(shopping_cart_id) AND #s = :open AND attribute_not_exists(paid_lines) AND (attribute_not_exists(#items.#p) OR #items.#p <= :room)",
          ExpressionAttributeNames: { "#items": "items", "#p": String(productId), "#s": "status" },
          ExpressionAttributeValues: {
            ":z": 0,
            ":q": quantity,
            ":open": "open",
            ":room": MAX_LINE_QUANTITY - quantity,
          },
        }),
      );
      return "ok" as const;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const cart = await this.get(cartId);
      if (!cart) return "not_found" as const;
      if (cart.status !== "open") return "not_open" as const;
      return cart.paid_lines ? ("paid" as const) : ("too_many" as const);
    }
  }

  async fixPaidLines(cartId: number, items: Cart["items"], lines: PaidLine[]): Promise<boolean> {
    return this.conditional({
      TableName: this.table,
      Key: { shopping_cart_id: cartId },
      UpdateExpression: "SET paid_lines = :lines",
      // Map equality: an add since the read changed a quantity or added a key.
      ConditionExpression: "#s = :open AND attribute_not_exists(paid_lines) AND #items = :items",
      ExpressionAttributeNames: { "#s": "status", "#items": "items" },
      ExpressionAttributeValues: { ":open": "open", ":items": items, ":lines": lines },
    });
  }

  /** Runs a conditional update: false when its condition does not hold. */
  private async conditional(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand(input));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}
