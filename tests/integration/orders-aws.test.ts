/**
 * The pipeline on its production components: api → SNS → SQS (raw delivery, redrive to a DLQ) →
 * processor, orders and charges in DynamoDB. fauxqs runs in this process, DynamoDB Local is the shared
 * child JVM; the processor under test runs as a child process so it can be killed for real.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { createCommerceTables, type Queues, startQueues } from "../helpers/aws.ts";
import { dynamoClient, sharedDynamoDb } from "../helpers/deps.ts";
import { acceptOrders, eventually, get, metric } from "../helpers/http.ts";
import { type Spawned, spawnShop, startTestShop, type TestShop } from "../helpers/shop.ts";

let dynamo: { url: string };
let queues: Queues;
let env: Record<string, string>;
let api: TestShop;

beforeAll(async () => {
  dynamo = await sharedDynamoDb();
  queues = await startQueues({ maxReceiveCount: 3, visibilityS: 2 });
  env = { ...(await createCommerceTables(dynamo.url)), ...queues.env, QUEUE_VISIBILITY_TIMEOUT_S: "2" };
  api = await startTestShop(["api"], env);
});

afterAll(async () => {
  await api.stop();
  await queues.stop();
});

const accept = (prefix: string, n: number) => acceptOrders(api.url, prefix, n);

async function statuses(ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < ids.length; i += 50) {
    const got = await Promise.all(ids.slice(i, i + 50).map((id) => get(`${api.url}/orders/${id}`)));
    for (const g of got) {
      const s = (g.body as { status: string }).status;
      out[s] = (out[s] ?? 0) + 1;
    }
  }
  return out;
}

/** Charges recorded by the gateway for orders whose id starts with `prefix`, by order id. */
async function charges(prefix: string): Promise<Map<string, string>> {
  const db = dynamoClient(dynamo.url);
  const out = new Map<string, string>();
  let start: Record<string, never> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({ TableName: env.IDEMPOTENCY_TABLE, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) {
      const key = item.key?.S ?? "";
      if (!key.startsWith(`charge:order:${prefix}-`)) continue;
      const tx = item.charge?.M?.result?.M?.transaction_id?.S ?? "";
      if (out.has(key)) throw new Error(`two charges for ${key}`);
      out.set(key.slice("charge:order:".length), tx);
    }
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  db.destroy();
  return out;
}

const processor = (extra: Record<string, string>) =>
  spawnShop(["--role", "processor"], { ...env, LOG_LEVEL: "warn", ...extra });

async function allCompleted(ids: string[], timeoutMs: number) {
  await eventually(
    async () => ((await statuses(ids)).completed === ids.length ? true : undefined),
    timeoutMs,
    `${ids.length} orders completed`,
  );
}

async function expectChargedOnce(prefix: string, ids: string[]) {
  const charged = await charges(prefix);
  expect(charged.size).toBe(ids.length);
  for (const id of ids) {
    const o = (await get(`${api.url}/orders/${id}`)).body as { transaction_id: string };
    expect(o.transaction_id).toBe(charged.get(id) ?? "missing");
  }
}

describe("orders through SNS → SQS and DynamoDB", () => {
  test("the api publishes through SNS; a separate processor completes every order once", async () => {
    const ids = await accept("flow", 100);
    const p = await processor({ PAYMENT_SIM_MS: "50", PROCESSOR_CONCURRENCY: "50" });
    try {
      await allCompleted(ids, 30_000);
      await expectChargedOnce("flow", ids);
      expect(await metric(p.url, "processor_messages_total", 'outcome="completed"')).toBe(100);
    } finally {
      p.proc.kill("SIGTERM");
      await p.proc.exited;
    }
  }, 60_000);

  test("kill -9 with 200 orders in flight, restart: every order completed, none charged twice", async () => {
    const ids = await accept("kill", 200);
    let p: Spawned = await processor({ PAYMENT_SIM_MS: "1500", PROCESSOR_CONCURRENCY: "200" });
    await eventually(
      async () => ((await metric(p.url, "processor_orders_in_flight")) === 200 ? true : undefined),
      20_000,
      "200 in flight",
    );
    p.proc.kill("SIGKILL");
    await p.proc.exited;
    const before = await statuses(ids);
    expect(before.completed ?? 0).toBeLessThan(200);
    p = await processor({ PAYMENT_SIM_MS: "100", PROCESSOR_CONCURRENCY: "200" });
    try {
      await allCompleted(ids, 40_000);
      await expectChargedOnce("kill", ids);
    } finally {
      p.proc.kill("SIGTERM");
      await p.proc.exited;
    }
  }, 90_000);

  test("SIGTERM with orders in flight: they finish, the process exits 0, nothing is lost", async () => {
    const ids = await accept("term", 60);
    const p = await processor({
      PAYMENT_SIM_MS: "1000",
      PROCESSOR_CONCURRENCY: "20",
      PROCESSOR_DRAIN_MS: "10000",
    });
    await eventually(
      async () => ((await metric(p.url, "processor_orders_in_flight")) === 20 ? true : undefined),
      20_000,
      "20 in flight",
    );
    p.proc.kill("SIGTERM");
    expect(await p.proc.exited).toBe(0);
    const after = await statuses(ids);
    // In-flight orders finished; the rest wait in the queue for the next processor.
    expect(after.processing ?? 0).toBe(0);
    expect((after.completed ?? 0) + (after.pending ?? 0)).toBe(60);
    const next = await processor({ PAYMENT_SIM_MS: "10", PROCESSOR_CONCURRENCY: "20" });
    try {
      await allCompleted(ids, 30_000);
      await expectChargedOnce("term", ids);
    } finally {
      next.proc.kill("SIGTERM");
      await next.proc.exited;
    }
  }, 90_000);

  test("a poison message reaches the dead-letter queue after maxReceiveCount and shows in metrics", async () => {
    // A queue of its own: long polls abandoned by earlier processors would also count receives.
    const own = await startQueues({ maxReceiveCount: 3, visibilityS: 2 });
    const p = await processor({ ...own.env });
    try {
      const { messageId } = own.server.sendMessage(own.queueName, "this is not an order");
      await eventually(
        async () =>
          (own.server.inspectQueue(own.dlqName)?.messages.ready.length ?? 0) > 0 ? true : undefined,
        20_000,
        "the dead-letter queue",
      );
      expect(own.server.inspectQueue(own.dlqName)?.messages.ready[0]?.body).toBe("this is not an order");
      expect(await metric(p.url, "processor_malformed_messages_total")).toBe(3);
      p.proc.kill("SIGTERM");
      await p.proc.exited;
      expect(await p.output()).toContain(`"message_id":"${messageId}"`);
    } finally {
      p.proc.kill("SIGTERM");
      await p.proc.exited;
      await own.stop();
    }
  }, 60_000);

  test("processor role alone with SQS but in-memory stores refuses to start, naming the variables", async () => {
    const { ORDERS_TABLE: _o, INVENTORY_TABLE: _i, ...partial } = env;
    const err = await spawnShop(["--role", "processor"], partial).catch((e) => e);
    expect(String(err)).toContain("ORDERS_TABLE, INVENTORY_TABLE");
  });
});
