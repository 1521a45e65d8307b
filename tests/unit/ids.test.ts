/**
 * The order id rule as properties: the api's schema and the processor's message check are one rule, and
 * no id a client may choose is one checkout allocates. End to end over HTTP: properties.test.ts.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { ITEM_ID, settlementOrderId } from "../../src/domain/auctions.ts";
import { INT32_MAX, OrderIdSchema } from "../../src/domain/ids.ts";
import { OrderInputSchema, parseOrderMessage } from "../../src/domain/orders.ts";
import { orderIdCandidates } from "../helpers/schema-arbitrary.ts";

const RUNS = 5000;

const apiAccepts = (order_id: string) =>
  OrderInputSchema.safeParse({ order_id, customer_id: 1, items: [{ product_id: 1, quantity: 1, price: 1 }] })
    .success;
const processorAccepts = (order_id: string) => parseOrderMessage(JSON.stringify({ order_id })) !== undefined;
const pathAccepts = (order_id: string) => OrderIdSchema.safeParse(order_id).success;

test("every order_id the api accepts, the processor accepts and GET /orders/{order_id} takes", () => {
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(orderIdCandidates, (id) => {
      if (!apiAccepts(id)) {
        refused++;
        return;
      }
      accepted++;
      expect({ id, processor: processorAccepts(id), path: pathAccepts(id) }).toEqual({
        id,
        processor: true,
        path: true,
      });
    }),
    { numRuns: RUNS, seed: 1212 },
  );
  // Both sides of the rule were exercised, so the property is not vacuous.
  expect(accepted).toBeGreaterThan(RUNS / 10);
  expect(refused).toBeGreaterThan(RUNS / 10);
});

test("the reported id: 35 code points, 68 UTF-16 units, refused by the api as by the processor", () => {
  const id = `q-${"\u{1F600}".repeat(33)}`;
  expect([apiAccepts(id), processorAccepts(id), pathAccepts(id)]).toEqual([false, false, false]);
});

test("checkout's ids (int32 decimals) are order ids no client may choose", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: INT32_MAX }), (n) => {
      const id = String(n);
      expect({ id, client: apiAccepts(id), processor: processorAccepts(id), path: pathAccepts(id) }).toEqual({
        id,
        client: false,
        processor: true,
        path: true,
      });
    }),
    { numRuns: RUNS, seed: 1212 },
  );
});

test("the ids shop chooses itself are ids a client could have sent", () => {
  fc.assert(
    fc.property(fc.stringMatching(ITEM_ID), (itemId) => {
      expect(apiAccepts(settlementOrderId(itemId))).toBe(true);
    }),
    { numRuns: 500, seed: 1212 },
  );
  // POST /orders/* without an order_id: a UUID.
  expect(apiAccepts(crypto.randomUUID())).toBe(true);
});
