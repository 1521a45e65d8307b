/** The order store port, the same cases on memory and on DynamoDB: TRANSITIONS holds in both. */
import { beforeAll, describe, expect, test } from "bun:test";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoOrderStore } from "../../src/adapters/dynamodb/orders.ts";
import { MemoryOrderStore } from "../../src/adapters/memory/orders.ts";
import {
  ORDER_STATUSES,
  type Order,
  type OrderStatus,
  type OrderStore,
  TRANSITIONS,
} from "../../src/domain/orders.ts";
import { createCommerceTables } from "../helpers/aws.ts";
import { dynamoClient, sharedDynamoDb } from "../helpers/deps.ts";

let endpoint = "";
let table = "";
beforeAll(async () => {
  endpoint = (await sharedDynamoDb()).url;
  table = (await createCommerceTables(endpoint)).ORDERS_TABLE ?? "";
});

const stores: [string, () => OrderStore][] = [
  ["memory", () => new MemoryOrderStore()],
  ["DynamoDB", () => new DynamoOrderStore(DynamoDBDocumentClient.from(dynamoClient(endpoint)), table)],
];

let seq = 0;
const order = (status: OrderStatus): Order => {
  const now = new Date().toISOString();
  return {
    order_id: `o-${process.pid}-${++seq}`,
    customer_id: 1,
    items: [{ product_id: 1, quantity: 1, price_cents: 100 }],
    total_cents: 100,
    status,
    source: "async",
    request_hash: "h",
    created_at: now,
    updated_at: now,
  };
};

for (const [kind, make] of stores) {
  describe(`order store on ${kind}`, () => {
    // Every (from, to) pair: the store moves the order exactly when TRANSITIONS has the edge, even when
    // the caller names the current status in `from`.
    test("applies exactly the transitions in TRANSITIONS", async () => {
      const store = make();
      for (const from of ORDER_STATUSES) {
        for (const to of ORDER_STATUSES) {
          const o = order(from);
          await store.create(o);
          const moved = await store.transition(o.order_id, [from], { status: to });
          const allowed = TRANSITIONS[from].includes(to);
          expect({ from, to, moved: moved?.status }).toEqual({ from, to, moved: allowed ? to : undefined });
          expect((await store.get(o.order_id))?.status).toBe(allowed ? to : from);
        }
      }
    });

    test("a final order stays final whatever the caller asks", async () => {
      const store = make();
      const o = order("completed");
      await store.create(o);
      expect(
        await store.transition(o.order_id, ["pending", "processing", "completed", "failed"], {
          status: "processing",
        }),
      ).toBeUndefined();
      expect((await store.get(o.order_id))?.status).toBe("completed");
    });

    test("the update's fields land with the move", async () => {
      const store = make();
      const o = order("processing");
      await store.create(o);
      const done = await store.transition(o.order_id, ["processing"], {
        status: "completed",
        transaction_id: "t1",
      });
      expect(done).toMatchObject({ status: "completed", transaction_id: "t1" });
    });
  });
}
