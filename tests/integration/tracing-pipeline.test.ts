/**
 * One trace across every hop of the order pipeline: an api process and a processor process (separate
 * shop processes, so the context really crosses the wire), SNS → SQS with raw delivery on fauxqs, the
 * stores on DynamoDB Local, spans exported to an OTLP receiver in the test. Checked for an async order
 * and for a cart checkout: the client's traceparent → the api's server span → the producer span whose
 * context rides in the message attributes → the processor's consumer span (child of and linked to the
 * producer) → its claim, charge, stock and completion spans, with DynamoDB and SQS client spans below.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { demoProduct } from "../../src/domain/products.ts";
import { createCommerceTables, type Queues, startQueues } from "../helpers/aws.ts";
import { sharedDynamoDb } from "../helpers/deps.ts";
import { eventually, get, post, put } from "../helpers/http.ts";
import { RuntimeEmulator, sqsEvent } from "../helpers/lambda.ts";
import {
  KIND,
  newTraceparent,
  type ReceivedSpan,
  type Receiver,
  startReceiver,
  tracingEnv,
} from "../helpers/otlp.ts";
import { MAIN, type Spawned, spawnShop } from "../helpers/shop.ts";

const TOKEN = "tracing-admin-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };

let receiver: Receiver;
let queues: Queues;
let api: Spawned;
let processor: Spawned;
let env: Record<string, string>;

beforeAll(async () => {
  receiver = startReceiver();
  const dynamo = await sharedDynamoDb();
  queues = await startQueues({ maxReceiveCount: 3, visibilityS: 5 });
  env = {
    ...(await createCommerceTables(dynamo.url)),
    ...queues.env,
    ...tracingEnv(receiver.url),
    PAYMENT_SIM_MS: "0",
    ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: "warn",
  };
  [api, processor] = await Promise.all([
    spawnShop(["--role", "api"], env),
    spawnShop(["--role", "processor"], env),
  ]);
});

afterAll(async () => {
  for (const p of [api, processor]) p.proc.kill("SIGTERM");
  expect(await Promise.all([api.proc.exited, processor.proc.exited])).toEqual([0, 0]);
  await queues.stop();
  await receiver.stop();
});

/** The trace's spans once `done` holds for them (spans from two processes arrive in any order). */
const traceOf = (traceId: string, done: (spans: ReceivedSpan[]) => boolean) =>
  eventually(
    async () => {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      return done(spans) ? spans : undefined;
    },
    20_000,
    `the spans of trace ${traceId}`,
  );

function one(spans: ReceivedSpan[], where: Partial<ReceivedSpan>): ReceivedSpan {
  const found = spans.filter((s) =>
    Object.entries(where).every(([k, v]) => s[k as keyof ReceivedSpan] === v),
  );
  if (found.length !== 1) {
    const names = spans.map((s) => `${s.service}:${s.name}`).join(", ");
    throw new Error(`expected one span like ${JSON.stringify(where)}, found ${found.length} among ${names}`);
  }
  return found[0] as ReceivedSpan;
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId);

const finalStatus = (orderId: string | number) =>
  eventually(async () => {
    const o = (await get(`${api.url}/orders/${orderId}`)).body as { status?: string };
    return o.status === "completed" || o.status === "failed" ? o.status : undefined;
  }, 20_000);

/**
 * The hops every order crosses, checked from the server span down: returns the consumer span so the
 * caller can check what its order type adds.
 */
function expectPipeline(spans: ReceivedSpan[], client: { spanId: string }, route: string): ReceivedSpan {
  const server = one(spans, { service: "shop-api", kind: KIND.server });
  expect(server).toMatchObject({ name: `POST ${route}`, parentSpanId: client.spanId });
  const producer = one(spans, { kind: KIND.producer });
  expect(producer.service).toBe("shop-api");
  expect(producer.name).toBe(`send ${queues.queueName}`);
  expect(producer.attributes).toMatchObject({
    "messaging.system": "aws_sns",
    "messaging.operation.type": "send",
  });
  // The producer hangs under the request (through the service's own spans, if any), never elsewhere.
  const ancestors = (s: ReceivedSpan): string[] => {
    const parent = spans.find((p) => p.spanId === s.parentSpanId);
    return parent ? [parent.spanId, ...ancestors(parent)] : [];
  };
  expect(ancestors(producer)).toContain(server.spanId);

  const consumer = one(spans, { kind: KIND.consumer });
  expect(consumer).toMatchObject({
    service: "shop-processor",
    name: "process orders",
    parentSpanId: producer.spanId,
    links: [{ traceId: producer.traceId, spanId: producer.spanId }],
  });
  expect(consumer.attributes["messaging.operation.type"]).toBe("process");
  const steps = childrenOf(spans, consumer).map((s) => s.name);
  for (const step of ["order claim", "order charge", "order complete"]) expect(steps).toContain(step);

  // Client spans below: the claim's conditional write to the orders table, the message's delete.
  const claim = one(spans, { name: "order claim" });
  const write = childrenOf(spans, claim).find((s) => s.kind === KIND.client);
  expect(write?.attributes).toMatchObject({
    "rpc.system": "aws-api",
    "rpc.service": "DynamoDB",
    "db.system.name": "aws.dynamodb",
  });
  expect(String(write?.attributes["aws.dynamodb.table_names"])).toContain("orders");
  const del = childrenOf(spans, consumer).find((s) => s.attributes["rpc.method"] === "DeleteMessage");
  expect(del).toMatchObject({ kind: KIND.client, attributes: { "messaging.system": "aws_sqs" } });
  return consumer;
}

describe("one trace from the client through SNS and SQS to the processor", () => {
  test("an async order", async () => {
    const client = newTraceparent();
    const orderId = `traced-${Date.now().toString(36)}`;
    const r = await post(
      `${api.url}/orders/async`,
      { order_id: orderId, customer_id: 5, items: [{ product_id: 1, quantity: 1, price: 9.99 }] },
      { traceparent: client.header },
    );
    expect(r.status).toBe(202);
    expect(await finalStatus(orderId)).toBe("completed");
    const spans = await traceOf(
      client.traceId,
      (s) =>
        s.some((x) => x.name === "order complete") &&
        s.some((x) => x.service === "shop-api" && x.kind === KIND.server) &&
        s.some((x) => x.attributes["rpc.method"] === "DeleteMessage"),
    );
    expectPipeline(spans, client, "/orders/async");
  });

  test("a cart checkout: the processor's stock moves are in the same trace", async () => {
    const productId = 700_000 + Math.floor(Math.random() * 100_000);
    expect((await post(`${api.url}/products/${productId}/details`, demoProduct(productId))).status).toBe(204);
    expect(
      (await put(`${api.url}/warehouse/stock/${productId}`, { quantity: 5, price: 2 }, auth)).status,
    ).toBe(204);
    const cart = await post(`${api.url}/shopping-carts`, { customer_id: 7 });
    const cartId = (cart.body as { shopping_cart_id: number }).shopping_cart_id;
    expect(
      (await post(`${api.url}/shopping-carts/${cartId}/items`, { product_id: productId, quantity: 2 }))
        .status,
    ).toBe(204);

    const client = newTraceparent();
    const r = await post(`${api.url}/shopping-carts/${cartId}/checkout`, undefined, {
      traceparent: client.header,
    });
    expect(r.status).toBe(200);
    const orderId = (r.body as { order_id: number }).order_id;
    expect(await finalStatus(orderId)).toBe("completed");
    const spans = await traceOf(
      client.traceId,
      (s) =>
        s.some((x) => x.name === "order complete") &&
        s.some((x) => x.service === "shop-api" && x.kind === KIND.server) &&
        s.some((x) => x.attributes["rpc.method"] === "DeleteMessage"),
    );
    const consumer = expectPipeline(spans, client, "/shopping-carts/:shoppingCartId/checkout");
    // The stock moves in the same transaction as the final status (one span), marked by order.stock.
    const ship = one(spans, { name: "order complete" });
    expect(ship.attributes["order.stock"]).toBe("ship");
    expect(ship.parentSpanId).toBe(consumer.spanId);
    expect(childrenOf(spans, ship).filter((s) => s.kind === KIND.client).length).toBeGreaterThan(0);
  });
});

test("the processor on Lambda continues the trace from the SQS record's message attributes", async () => {
  // A queue of its own, so the ECS processor above does not take the message first.
  const own = await startQueues({ maxReceiveCount: 3, visibilityS: 5 });
  const apiOwn = await spawnShop(["--role", "api"], { ...env, ...own.env });
  const emulator = new RuntimeEmulator();
  const runtime = Bun.spawn([process.execPath, MAIN, "lambda", "--role", "processor"], {
    env: { PATH: process.env.PATH ?? "", ...env, ...own.env, AWS_LAMBDA_RUNTIME_API: emulator.address },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  });
  const sqs = new SQSClient({
    endpoint: own.server.address,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    const client = newTraceparent();
    const orderId = `lambda-${Date.now().toString(36)}`;
    const r = await post(
      `${apiOwn.url}/orders/async`,
      { order_id: orderId, customer_id: 5, items: [{ product_id: 1, quantity: 1, price: 9.99 }] },
      { traceparent: client.header },
    );
    expect(r.status).toBe(202);
    // The event source mapping's part: receive with the message attributes, invoke with them.
    const received = await eventually(async () => {
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: own.env.SQS_QUEUE_URL,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      return got.Messages?.[0];
    });
    const traceparent = received.MessageAttributes?.traceparent?.StringValue;
    expect(traceparent).toStartWith(`00-${client.traceId}-`);
    const { reply } = emulator.invoke(
      sqsEvent([
        {
          id: received.MessageId ?? "",
          body: received.Body ?? "",
          receiptHandle: received.ReceiptHandle ?? "",
          attributes: { traceparent: traceparent ?? "" },
        },
      ]),
    );
    expect((await reply).kind).toBe("response");
    const spans = await traceOf(client.traceId, (s) => s.some((x) => x.name === "order complete"));
    const producer = one(spans, { kind: KIND.producer });
    const consumer = one(spans, { kind: KIND.consumer });
    expect(consumer).toMatchObject({
      service: "shop-processor",
      parentSpanId: producer.spanId,
      links: [{ traceId: client.traceId, spanId: producer.spanId }],
    });
    expect(childrenOf(spans, consumer).map((s) => s.name)).toContain("order charge");
  } finally {
    sqs.destroy();
    runtime.kill("SIGTERM");
    await runtime.exited;
    emulator.stop();
    apiOwn.proc.kill("SIGTERM");
    await apiOwn.proc.exited;
    await own.stop();
  }
});

test("an unsampled request's order message carries its trace context with flags 00, and no span is exported", async () => {
  // A queue of its own, so the processor above does not take the message first.
  const own = await startQueues({ maxReceiveCount: 3, visibilityS: 5 });
  const apiOwn = await spawnShop(["--role", "api"], {
    ...env,
    ...own.env,
    OTEL_TRACES_SAMPLER: "parentbased_always_on",
  });
  const sqs = new SQSClient({
    endpoint: own.server.address,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  // The caller decided not to sample: the parent-based sampler follows it.
  const client = newTraceparent(false);
  try {
    const orderId = `unsampled-${Date.now().toString(36)}`;
    const r = await fetch(`${apiOwn.url}/orders/async`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: client.header },
      body: JSON.stringify({
        order_id: orderId,
        customer_id: 5,
        items: [{ product_id: 1, quantity: 1, price: 9.99 }],
      }),
    });
    expect(r.status).toBe(202);
    const answered = r.headers.get("traceparent") ?? "";
    expect(answered).toMatch(new RegExp(`^00-${client.traceId}-[0-9a-f]{16}-00$`));
    const received = await eventually(async () => {
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: own.env.SQS_QUEUE_URL,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      return got.Messages?.[0];
    });
    const traceparent = received.MessageAttributes?.traceparent?.StringValue ?? "";
    expect(traceparent).toMatch(new RegExp(`^00-${client.traceId}-[0-9a-f]{16}-00$`));
  } finally {
    sqs.destroy();
    apiOwn.proc.kill("SIGTERM");
    expect(await apiOwn.proc.exited).toBe(0);
    await own.stop();
  }
  // Stopping flushed whatever the api recorded.
  expect(receiver.spans.filter((s) => s.traceId === client.traceId)).toEqual([]);
});
