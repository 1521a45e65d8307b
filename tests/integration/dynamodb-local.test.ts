/**
 * What the commerce code may rely on from DynamoDB Local, AWS's own emulator, and from the test helpers that
 * run it: TransactWriteItems with ClientRequestToken is idempotent (a retry after an unknown outcome is the
 * same transaction and returns success, applied once), a failed condition cancels the whole transaction with
 * per-item CancellationReasons, and the child JVM freezes on SIGSTOP (a write sent during the pause may land
 * after it: only the token's retry tells). Kill -9 and restart: products-dynamodb-down.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { isAwsTransient } from "../../src/adapters/aws.ts";
import { createDynamoDb } from "../../src/adapters/dynamodb/client.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { createCommerceTables } from "../helpers/aws.ts";
import {
  type Child,
  dynamoClient,
  runId,
  sharedDynamoDb,
  startDynamoDbLocal,
  threadStates,
} from "../helpers/deps.ts";

type Tables = { orders: string; inventory: string };
let nextProduct = 1;

/** A stock item with `available` units, keyed like INVENTORY_TABLE. */
async function stock(doc: DynamoDBDocumentClient, t: Tables, available: number): Promise<number> {
  const productId = nextProduct++;
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: t.inventory, Item: { product_id: productId, available, reserved: 0 } } },
      ],
    }),
  );
  return productId;
}

/** A checkout-like transaction: create the order, reserve `quantity` of the product if available. */
const checkout = (t: Tables, orderId: string, productId: number, quantity: number, token: string) =>
  new TransactWriteCommand({
    ClientRequestToken: token,
    TransactItems: [
      {
        Put: {
          TableName: t.orders,
          Item: { order_id: orderId, status: "pending", product_id: productId, quantity },
          ConditionExpression: "attribute_not_exists(order_id)",
        },
      },
      {
        Update: {
          TableName: t.inventory,
          Key: { product_id: productId },
          UpdateExpression: "SET available = available - :q, reserved = reserved + :q",
          ConditionExpression: "available >= :q",
          ExpressionAttributeValues: { ":q": quantity },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      },
    ],
  });

const read = async (doc: DynamoDBDocumentClient, table: string, key: Record<string, unknown>) =>
  (await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;

const tablesOf = (env: Record<string, string>): Tables => ({
  orders: env.ORDERS_TABLE ?? "",
  inventory: env.INVENTORY_TABLE ?? "",
});

describe("TransactWriteItems on DynamoDB Local", () => {
  let env: Record<string, string>;
  let t: Tables;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    const { url } = await sharedDynamoDb();
    env = await createCommerceTables(url);
    t = tablesOf(env);
    doc = DynamoDBDocumentClient.from(dynamoClient(url));
  });
  afterAll(() => doc.destroy());

  test("a retry with the same ClientRequestToken succeeds and is applied once", async () => {
    const pid = await stock(doc, t, 10);
    const token = `checkout-${runId("tx")}`;
    await doc.send(checkout(t, "o-1", pid, 2, token));
    // Sent again as is, the order's attribute_not_exists would cancel it: the token makes it the same
    // transaction, so the answer is the first one's success and nothing is applied twice.
    const again = await doc.send(checkout(t, "o-1", pid, 2, token));
    expect(again.$metadata.httpStatusCode).toBe(200);
    expect(await read(doc, t.inventory, { product_id: pid })).toMatchObject({ available: 8, reserved: 2 });
    expect(await read(doc, t.orders, { order_id: "o-1" })).toMatchObject({ status: "pending", quantity: 2 });

    // Without the token the same request is a new transaction, and the order's condition cancels it.
    const { ClientRequestToken: _, ...untokened } = checkout(t, "o-1", pid, 2, token).input;
    const fresh = await doc.send(new TransactWriteCommand(untokened)).catch((e: unknown) => e);
    expect((fresh as Error).name).toBe("TransactionCanceledException");
  });

  test("the same token with other parameters is IdempotentParameterMismatchException, nothing applied", async () => {
    const pid = await stock(doc, t, 10);
    const token = `checkout-${runId("mismatch")}`;
    await doc.send(checkout(t, "o-2", pid, 1, token));
    const err = await doc.send(checkout(t, "o-2", pid, 3, token)).catch((e: unknown) => e);
    expect((err as Error).name).toBe("IdempotentParameterMismatchException");
    expect(isAwsTransient(err)).toBe(false);
    expect(await read(doc, t.inventory, { product_id: pid })).toMatchObject({ available: 9, reserved: 1 });
  });

  test("a failed condition cancels every item and names it in CancellationReasons, with the old item", async () => {
    const pid = await stock(doc, t, 1);
    const err = (await doc
      .send(checkout(t, "o-3", pid, 3, `checkout-${runId("short")}`))
      .catch((e) => e)) as {
      name: string;
      CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[];
    };
    expect(err.name).toBe("TransactionCanceledException");
    // One reason per TransactItems entry, in order: the order put was fine, the stock update was short.
    expect(err.CancellationReasons?.map((r) => r.Code)).toEqual(["None", "ConditionalCheckFailed"]);
    // The raw client's AttributeValue form: the document client does not unmarshall exception fields.
    expect(err.CancellationReasons?.[1]?.Item).toMatchObject({ available: { N: "1" } });
    expect(await read(doc, t.orders, { order_id: "o-3" })).toBeUndefined();
    expect(await read(doc, t.inventory, { product_id: pid })).toMatchObject({ available: 1, reserved: 0 });
  });

  test("through shop's DynamoDB client and policies: a cancellation is an answer, not retried, not an outage", async () => {
    const metrics = createMetrics();
    const resilience = createResilience(undefined, metrics.registry, createLogger("silent"));
    const db = createDynamoDb(loadConfig(env), resilience);
    const pid = await stock(doc, t, 0);
    const err = await db.policy
      .execute((signal) =>
        db.doc.send(checkout(t, "o-4", pid, 1, `checkout-${runId("p")}`), { abortSignal: signal }),
      )
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe("TransactionCanceledException");
    // The one classifier both the `dynamodb` and `commerce-db` policies use does not count it.
    expect(isAwsTransient(err)).toBe(false);
    expect(await metrics.registry.getSingleMetricAsString("dependency_retries_total")).not.toMatch(
      /dependency="dynamodb"\} [1-9]/,
    );
    expect(db.policy.state()).toBe("closed");
    db.raw.destroy();
  });
});

describe("a DynamoDB Local child of its own, paused", () => {
  let child: Child;
  let env: Record<string, string>;
  let t: Tables;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    child = await startDynamoDbLocal();
    env = await createCommerceTables(child.url);
    t = tablesOf(env);
    // No SDK retries: each send is one attempt, as under shop's policy.
    doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: child.url,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
      }),
    );
  });
  afterAll(async () => {
    child.resume();
    doc.destroy();
    await child.kill();
  });

  test("paused, nothing answers; a transaction sent during the pause is resolved by retrying its token", async () => {
    const pid = await stock(doc, t, 5);
    const token = `checkout-${runId("pause")}`;
    await child.pause();
    try {
      // Every thread of the JVM is stopped (state T), not just slow.
      const states = threadStates(child.pid() ?? 0);
      expect(states.length).toBeGreaterThan(1);
      expect(new Set(states)).toEqual(new Set(["T"]));
      // The JVM is frozen: the request cannot be answered however long the client waits, so it gives up.
      const unknown = await doc
        .send(checkout(t, "o-p", pid, 2, token), { abortSignal: AbortSignal.timeout(500) })
        .catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(Error);
      const probe = await doc
        .send(new GetCommand({ TableName: t.inventory, Key: { product_id: pid } }), {
          abortSignal: AbortSignal.timeout(300),
        })
        .catch((e: unknown) => e);
      expect(probe).toBeInstanceOf(Error);
    } finally {
      child.resume();
    }
    // The first attempt may or may not have landed once the JVM ran again: the retry of the same token
    // answers success either way, and the reservation exists exactly once.
    const landed = (await read(doc, t.inventory, { product_id: pid }))?.reserved === 2;
    console.log(`the transaction sent during the pause ${landed ? "landed after it" : "did not land"}`);
    const retried = await doc.send(checkout(t, "o-p", pid, 2, token));
    expect(retried.$metadata.httpStatusCode).toBe(200);
    expect(await read(doc, t.inventory, { product_id: pid })).toMatchObject({ available: 3, reserved: 2 });
  });
});
