/**
 * The processor as a Lambda custom runtime, as a child process (`bun src/main.ts lambda`) against the
 * Runtime API emulator, on the production components: the api publishes through SNS to SQS (fauxqs, with a
 * redrive policy), orders and charges live in DynamoDB (DynamoDB Local, the shared child JVM), and a miniature event source mapping
 * receives batches from the queue, invokes, and deletes what the reply says succeeded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PurgeQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Subprocess } from "bun";
import { DynamoChargeLedger } from "../../src/adapters/dynamodb/idempotency.ts";
import { createCommerceTables, type Queues, startQueues } from "../helpers/aws.ts";
import { dynamoClient, sharedDynamoDb } from "../helpers/deps.ts";
import { acceptOrders, eventually, get } from "../helpers/http.ts";
import { failedIds, pollOnce, type Reply, RuntimeEmulator, snsEvent, sqsEvent } from "../helpers/lambda.ts";
import { MAIN, startTestShop, type TestShop } from "../helpers/shop.ts";

let dynamo: { url: string };
let queues: Queues;
let env: Record<string, string>;
let api: TestShop;
let sqs: SQSClient;
let ledger: DynamoChargeLedger;

const VISIBILITY_S = 2;

beforeAll(async () => {
  dynamo = await sharedDynamoDb();
  queues = await startQueues({ maxReceiveCount: 3, visibilityS: VISIBILITY_S });
  env = { ...(await createCommerceTables(dynamo.url)), ...queues.env, QUEUE_VISIBILITY_TIMEOUT_S: "2" };
  api = await startTestShop(["api"], env);
  sqs = sqsClient(queues);
  ledger = new DynamoChargeLedger(
    DynamoDBDocumentClient.from(dynamoClient(dynamo.url)),
    env.IDEMPOTENCY_TABLE ?? "",
  );
});

afterAll(async () => {
  await api.stop();
  sqs.destroy();
  await queues.stop();
});

function sqsClient(q: Queues): SQSClient {
  return new SQSClient({
    endpoint: q.server.address,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}

interface Runtime {
  emulator: RuntimeEmulator;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** performance.timeOrigin + performance.now() at spawn. */
  spawnedAt: number;
  output(): Promise<string>;
  stop(): Promise<number>;
}

function spawnRuntime(extra: Record<string, string> = {}, args = ["lambda", "--role", "processor"]): Runtime {
  const emulator = new RuntimeEmulator();
  const spawnedAt = performance.timeOrigin + performance.now();
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      ...env,
      AWS_LAMBDA_RUNTIME_API: emulator.address,
      LOG_LEVEL: "info",
      ...extra,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const text = (async () =>
    (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text()))();
  return {
    emulator,
    proc,
    spawnedAt,
    output: () => text,
    stop: async () => {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      emulator.stop();
      return code;
    },
  };
}

const accept = (prefix: string, n: number) => acceptOrders(api.url, prefix, n);

const status = async (id: string) =>
  ((await get(`${api.url}/orders/${id}`)).body as { status: string }).status;
const statuses = async (ids: string[]) => Promise.all(ids.map(status));

/** The event source mapping: polls until `done` holds, returning every reply. */
async function mapUntil(
  rt: Runtime,
  q: Queues,
  client: SQSClient,
  done: () => Promise<boolean>,
  options: { batchSize?: number; timeoutMs?: number } = {},
): Promise<Reply[]> {
  const replies: Reply[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`the mapping did not finish: ${await rt.output()}`);
    const polled = await pollOnce(client, q.env.SQS_QUEUE_URL ?? "", rt.emulator, {
      batchSize: options.batchSize ?? 10,
      visibilityS: VISIBILITY_S * 5,
    });
    if (polled) replies.push(polled.reply);
  }
  return replies;
}

async function expectChargedOnce(ids: string[]) {
  for (const id of ids) {
    const o = (await get(`${api.url}/orders/${id}`)).body as { status: string; transaction_id: string };
    expect(o.status).toBe("completed");
    expect((await ledger.get(`order:${id}`))?.result).toEqual({
      approved: true,
      transaction_id: o.transaction_id,
    });
  }
}

describe("shop lambda against the Runtime API emulator", () => {
  test("orders through SNS → SQS → event source mapping: every batch completes, every order charged once", async () => {
    const ids = await accept("flow", 30);
    const rt = spawnRuntime({ PAYMENT_SIM_MS: "50" });
    try {
      await rt.emulator.untilNext(1);
      console.log(
        `cold start, bun src/main.ts lambda: exec → first next ${Math.round((rt.emulator.nextCalls[0] ?? 0) - rt.spawnedAt)} ms`,
      );
      const replies = await mapUntil(rt, queues, sqs, async () =>
        (await statuses(ids)).every((s) => s === "completed"),
      );
      expect(replies.length).toBeGreaterThan(0);
      for (const r of replies) expect(failedIds(r)).toEqual([]);
      await expectChargedOnce(ids);
    } finally {
      expect(await rt.stop()).toBe(0);
    }
    expect(await rt.output()).not.toContain('"level":"error"');
  }, 60_000);

  test("a poison message goes back until the queue's redrive moves it to the dead-letter queue", async () => {
    const own = await startQueues({ maxReceiveCount: 3, visibilityS: VISIBILITY_S });
    const client = sqsClient(own);
    const rt = spawnRuntime({ ...own.env });
    const { messageId } = own.server.sendMessage(own.queueName, "this is not an order");
    try {
      const dead = async () => (own.server.inspectQueue(own.dlqName)?.messages.ready.length ?? 0) > 0;
      const replies = await mapUntil(rt, own, client, dead, { timeoutMs: 40_000 });
      for (const r of replies) expect(failedIds(r)).toEqual([messageId]);
      // Three receives (maxReceiveCount), then the redrive: never deleted, never lost.
      expect(replies.length).toBe(3);
      expect(own.server.inspectQueue(own.dlqName)?.messages.ready[0]?.body).toBe("this is not an order");
    } finally {
      expect(await rt.stop()).toBe(0);
      client.destroy();
      await own.stop();
    }
    expect(await rt.output()).toContain(`"message_id":"${messageId}"`);
  }, 60_000);

  test("redelivery of a completed order: no second charge, deleted as a duplicate", async () => {
    const [id] = await accept("redeliver", 1);
    const rt = spawnRuntime({ PAYMENT_SIM_MS: "20" });
    try {
      await mapUntil(rt, queues, sqs, async () => (await status(id ?? "")) === "completed");
      const charged = await ledger.get(`order:${id}`);
      const again = rt.emulator.invoke(
        sqsEvent([{ id: "redelivered", body: JSON.stringify({ order_id: id }), receiveCount: 2 }]),
      );
      expect(failedIds(await again.reply)).toEqual([]);
      expect(await ledger.get(`order:${id}`)).toEqual(charged);
      await expectChargedOnce([id ?? ""]);
    } finally {
      expect(await rt.stop()).toBe(0);
    }
  }, 60_000);

  test("deadline close: with less than LAMBDA_ORDER_RESERVE_MS left, no order starts and every message is reported", async () => {
    const ids = await accept("deadline", 3);
    await purgeQueue();
    const rt = spawnRuntime({ LAMBDA_ORDER_RESERVE_MS: "5000" });
    try {
      const sent = rt.emulator.invoke(
        sqsEvent(ids.map((id) => ({ id: `m-${id}`, body: JSON.stringify({ order_id: id }) }))),
        { timeoutMs: 3000 },
      );
      const reply = await sent.reply;
      expect(failedIds(reply)).toEqual(ids.map((id) => `m-${id}`).sort());
      expect(reply.at).toBeLessThan(sent.deadlineMs);
      expect(await statuses(ids)).toEqual(["pending", "pending", "pending"]);
    } finally {
      expect(await rt.stop()).toBe(0);
    }
  }, 60_000);

  test("an SNS notification delivered directly: processed, and a failure is an invocation error", async () => {
    const ids = await accept("sns", 1);
    await purgeQueue();
    // A plain run inside Lambda (AWS_LAMBDA_RUNTIME_API set) is the custom runtime too.
    const rt = spawnRuntime({ PAYMENT_SIM_MS: "20" }, ["--role", "processor"]);
    try {
      const ok = rt.emulator.invoke(snsEvent([{ id: "n-1", body: JSON.stringify({ order_id: ids[0] }) }]));
      expect(await ok.reply).toMatchObject({ kind: "response", body: {} });
      await expectChargedOnce(ids);
      const bad = rt.emulator.invoke(snsEvent([{ id: "n-2", body: "garbage" }]));
      expect(await bad.reply).toMatchObject({ kind: "error", errorType: "Shop.OrdersNotProcessed" });
      const notAnEvent = rt.emulator.invoke({ hello: "world" });
      expect(await notAnEvent.reply).toMatchObject({ kind: "error", errorType: "Shop.InvalidEvent" });
    } finally {
      expect(await rt.stop()).toBe(0);
    }
  }, 60_000);

  test("SIGTERM during an invocation: the reply lists every unfinished message, exit 0, the next sandbox finishes them once", async () => {
    const ids = await accept("term", 3);
    const rt = spawnRuntime({ PAYMENT_SIM_MS: "5000" });
    try {
      const polled = pollOnce(sqs, queues.env.SQS_QUEUE_URL ?? "", rt.emulator, {
        batchSize: 10,
        visibilityS: 10,
      });
      await eventually(
        async () => ((await statuses(ids)).every((s) => s === "processing") ? true : undefined),
        20_000,
        "three orders paying",
      );
      rt.proc.kill("SIGTERM");
      const result = await polled;
      expect(result?.messages.length).toBe(3);
      expect(
        failedIds(result?.reply ?? { kind: "response", body: { batchItemFailures: [] }, at: 0 }),
      ).toEqual((result?.messages ?? []).map((m) => m.id).sort());
      expect(await rt.proc.exited).toBe(0);
      expect(await statuses(ids)).toEqual(["processing", "processing", "processing"]);
    } finally {
      await rt.stop();
    }
    const next = spawnRuntime({ PAYMENT_SIM_MS: "20" });
    try {
      await mapUntil(next, queues, sqs, async () => (await statuses(ids)).every((s) => s === "completed"));
      await expectChargedOnce(ids);
    } finally {
      expect(await next.stop()).toBe(0);
    }
  }, 90_000);
});

describe("init errors are posted to /runtime/init/error and the process exits 1", () => {
  test.each([
    [
      "a missing table",
      { ORDERS_TABLE: "", INVENTORY_TABLE: "" },
      [],
      "Shop.InitError",
      "ORDERS_TABLE, INVENTORY_TABLE",
    ],
    ["invalid configuration", { PAYMENT_SIM_MS: "soon" }, [], "Shop.ConfigError", "PAYMENT_SIM_MS"],
    [
      "a role other than the processor",
      {},
      ["lambda", "--role", "api"],
      "Shop.InitError",
      "only the processor role",
    ],
  ])("%s", async (_, extra: Record<string, string>, args: string[], errorType, text) => {
    const rt = spawnRuntime(extra, args.length > 0 ? args : undefined);
    expect(await rt.proc.exited).toBe(1);
    rt.emulator.stop();
    expect(rt.emulator.initErrors.length).toBe(1);
    expect(rt.emulator.initErrors[0]?.errorType).toBe(errorType);
    expect(rt.emulator.initErrors[0]?.body.errorMessage).toContain(text);
    expect(rt.emulator.nextCalls).toEqual([]);
  });

  test("without AWS_LAMBDA_RUNTIME_API, `shop lambda` is refused with exit 2", async () => {
    const proc = Bun.spawn([process.execPath, MAIN, "lambda"], {
      env: { PATH: process.env.PATH ?? "" },
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain("AWS_LAMBDA_RUNTIME_API must be host:port");
  });
});

/** These tests feed synthetic events: the orders' own messages must not reach the next test's batches. */
async function purgeQueue() {
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queues.env.SQS_QUEUE_URL }));
}
