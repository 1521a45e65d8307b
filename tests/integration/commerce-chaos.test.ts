/**
 * Ambiguous failures across processes: an api process and a processor process over SNS/SQS (fauxqs, a
 * process of its own), DynamoDB Local and Redis (each a child process), under waves of concurrent cart
 * checkouts (carts built in the wave) and async orders. In every round one dependency is frozen
 * (SIGSTOP) for longer than its policy timeout at a different moment of the wave, so writes time out
 * and land after the pause at every step: cart creation and lines, checkout, accepting, publishing,
 * claiming, charging, finishing. Clients behave as real ones: a 503 is resent as is until answered.
 * Then, once everything is settled, the books must balance exactly:
 * - per product, available + reserved + shipped = seeded, nothing left reserved, shipped = the lines
 *   of the completed cart orders (so completed ≤ stock and every completed order shipped);
 * - no order left pending or processing, nothing dead-lettered, the outbox empty;
 * - exactly one approved charge per completed order and none for anything else;
 * - every 202 order completed; an identical resend replays the first 202's message_id;
 * - one order per checked-out cart, the cart pointing at it; every 200 checkout's order completed.
 * Outcomes only: how long a request took is not asserted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { Subprocess } from "bun";
import type { Order } from "../../src/domain/orders.ts";
import { chargeKey } from "../../src/domain/payments.ts";
import { demoProduct } from "../../src/domain/products.ts";
import { createCommerceTables, type QueuesProcess, startQueuesProcess } from "../helpers/aws.ts";
import { type Child, dynamoClient, startDynamoDbLocal, startRedisServer } from "../helpers/deps.ts";
import { freePort, MAIN } from "../helpers/shop.ts";

const PRODUCTS = [101, 102, 103, 104, 105];
const SEEDED = 40;
const ADMIN = "chaos-admin-token-0123456789";
const CARD = "4242424242424242";
/** Per round: carts built and checked out, async orders accepted. */
const CARTS_PER_ROUND = 24;
const ORDERS_PER_ROUND = 30;

interface Round {
  target: "dynamodb" | "redis" | "queues";
  /** When in the wave the pause starts. */
  afterMs: number;
  /** Longer than the target's policy timeout (commerce-db 3 s, Redis 100 ms, queue 5 s). */
  pauseMs: number;
}

// DynamoDB at four moments of the wave (building carts, checkouts in flight, the relay and the
// processor's claims, charges and finishes), then Redis (product lookups) and SNS/SQS (relay, receives).
const ROUNDS: Round[] = [
  { target: "dynamodb", afterMs: 0, pauseMs: 4000 },
  { target: "dynamodb", afterMs: 250, pauseMs: 4000 },
  { target: "dynamodb", afterMs: 700, pauseMs: 4000 },
  { target: "dynamodb", afterMs: 1500, pauseMs: 4000 },
  { target: "redis", afterMs: 100, pauseMs: 1500 },
  { target: "queues", afterMs: 200, pauseMs: 6000 },
];

interface Proc {
  url: string;
  proc: Subprocess;
  log: string;
}

async function spawn(role: string, env: Record<string, string>): Promise<Proc> {
  const port = freePort();
  const log = `${tmpdir()}/chaos-${role}-${process.pid}-${port}.log`;
  const proc = Bun.spawn(["setpriv", "--pdeathsig", "KILL", process.execPath, MAIN, "--role", role], {
    // Credentials are not what this test is about: real infrastructure would otherwise require them.
    env: {
      PATH: process.env.PATH ?? "",
      AUTH_DISABLED: "true",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdin: "ignore",
    // A file, not a pipe: a chaos run logs a lot, and a full pipe would stall the process.
    stdout: Bun.file(log),
    stderr: Bun.file(`${log}.err`),
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${role} exited ${proc.exitCode}: see ${log}`);
    const ok = await fetch(`${url}/ready`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return { url, proc, log };
    if (Date.now() > deadline) throw new Error(`${role} did not become ready: see ${log}`);
    await Bun.sleep(50);
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Requests resent after a 503 or a dropped connection: proof that the pauses hit. */
let resent = 0;

/** One request as a real client sends it: a 503 or a dropped connection is resent as is until answered. */
async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const res = await fetch(url, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      const answer: Answer = { status: res.status, body: text ? JSON.parse(text) : {} };
      if (answer.status !== 503) return answer;
    } catch {
      // Dropped or timed out: unknown, so resent like a 503.
    }
    if (Date.now() > deadline) throw new Error(`${method} ${url} kept failing`);
    resent++;
    await Bun.sleep(250 + Math.random() * 250);
  }
}

describe("commerce under paused dependencies (separate api and processor processes)", () => {
  let dynamo: Child;
  let redis: Child;
  let queues: QueuesProcess;
  let env: Record<string, string>;
  let api: Proc;
  let processor: Proc;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    [dynamo, redis, queues] = await Promise.all([
      startDynamoDbLocal(),
      startRedisServer(),
      startQueuesProcess({ maxReceiveCount: 1000 }),
    ]);
    env = {
      ...(await createCommerceTables(dynamo.url)),
      ...queues.env,
      REDIS_URL: redis.url,
      ADMIN_TOKEN: ADMIN,
      PAYMENT_SIM_MS: "20",
      PROCESSOR_CONCURRENCY: "50",
      QUEUE_VISIBILITY_TIMEOUT_S: "5",
      OUTBOX_SWEEP_MS: "500",
      SHUTDOWN_DRAIN_MS: "0",
      LOG_LEVEL: "warn",
    };
    [api, processor] = await Promise.all([spawn("api", env), spawn("processor", env)]);
    doc = DynamoDBDocumentClient.from(dynamoClient(dynamo.url));
  }, 120_000);

  afterAll(async () => {
    for (const c of [dynamo, redis]) c?.resume();
    queues?.resume();
    for (const p of [api, processor]) p?.proc.kill("SIGKILL");
    await Promise.all([dynamo?.kill(), redis?.kill(), queues?.kill()]);
    doc?.destroy();
  });

  const scan = async <T>(table: string | undefined): Promise<T[]> => {
    if (table === undefined) return [];
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      out.push(...((page.Items ?? []) as T[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  };

  test("every pause past a timeout, at every step: stock conserved, one charge per completed order, nothing pending, resends replay", async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    for (const pid of PRODUCTS) {
      expect((await send("POST", `${api.url}/products/${pid}/details`, demoProduct(pid))).status).toBe(204);
      const stocked = await send(
        "PUT",
        `${api.url}/warehouse/stock/${pid}`,
        { quantity: SEEDED, price: 3 },
        auth,
      );
      expect(stocked.status).toBe(204);
    }

    const checkouts: { cart: number; answer: Answer }[] = [];
    const accepted = new Map<string, { body: unknown; first: Answer }>();

    const buyer = async () => {
      const created = await send("POST", `${api.url}/shopping-carts`, { customer_id: 7 });
      expect(created.status).toBe(201);
      const cart = created.body.shopping_cart_id as number;
      const lines = 1 + Math.floor(Math.random() * 2);
      for (let i = 0; i < lines; i++) {
        const pid = PRODUCTS[Math.floor(Math.random() * PRODUCTS.length)] as number;
        const added = await send("POST", `${api.url}/shopping-carts/${cart}/items`, {
          product_id: pid,
          quantity: 1 + Math.floor(Math.random() * 2),
        });
        expect(added.status).toBe(204);
      }
      const answer = await send("POST", `${api.url}/shopping-carts/${cart}/checkout`, {
        credit_card_number: CARD,
      });
      checkouts.push({ cart, answer });
    };
    const orderer = async (id: string) => {
      const body = {
        order_id: id,
        customer_id: 9,
        items: [{ product_id: "SKU-1", quantity: 1, price: 4.5 }],
      };
      const first = await send("POST", `${api.url}/orders/async`, body);
      accepted.set(id, { body, first });
    };

    for (const [r, round] of ROUNDS.entries()) {
      const wave = Promise.all([
        ...Array.from({ length: CARTS_PER_ROUND }, buyer),
        ...Array.from({ length: ORDERS_PER_ROUND }, (_, i) => orderer(`chaos-${r}-${i}`)),
      ]);
      await Bun.sleep(round.afterMs);
      const target = round.target === "dynamodb" ? dynamo : round.target === "redis" ? redis : queues;
      await target.pause();
      await Bun.sleep(round.pauseMs);
      target.resume();
      await wave;
    }

    // Every answer is definite: a checkout succeeded, found its cart checked out (an earlier attempt
    // landed), or found stock short; every order was accepted.
    for (const { answer } of checkouts) {
      const ok =
        answer.status === 200 ||
        (answer.status === 400 &&
          ["CART_CHECKED_OUT", "INSUFFICIENT_STOCK"].includes(answer.body.error as string));
      if (!ok) throw new Error(`checkout answered ${JSON.stringify(answer)}`);
    }
    for (const [id, { first }] of accepted) {
      if (first.status !== 202) throw new Error(`order ${id} answered ${JSON.stringify(first)}`);
    }

    // Settled: nothing pending or processing, nothing waiting in the outbox.
    const deadline = Date.now() + 120_000;
    let orders: Order[] = [];
    for (;;) {
      orders = await scan<Order>(env.ORDERS_TABLE);
      const open = orders.filter((o) => o.status === "pending" || o.status === "processing");
      const outbox = await scan<unknown>(env.OUTBOX_TABLE);
      if (open.length === 0 && outbox.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(
          `not settled: ${open.length} orders open (${open.slice(0, 3).map((o) => o.order_id)}), ${outbox.length} outbox records`,
        );
      await Bun.sleep(500);
    }
    const byId = new Map(orders.map((o) => [o.order_id, o]));

    // Identical resends replay the first answer.
    for (const [id, { body, first }] of accepted) {
      const again = await send("POST", `${api.url}/orders/async`, body);
      expect(again).toEqual(first);
      expect(byId.get(id)?.status).toBe("completed");
    }

    // Stock: conserved per product, nothing reserved, shipped = what the completed cart orders hold.
    const completedCart = orders.filter((o) => o.source === "cart" && o.status === "completed");
    const stock = await scan<{ product_id: number; available: number; reserved: number; shipped: number }>(
      env.INVENTORY_TABLE,
    );
    for (const pid of PRODUCTS) {
      const s = stock.find((x) => x.product_id === pid);
      const shipped = completedCart
        .flatMap((o) => o.items)
        .filter((l) => Number(l.product_id) === pid)
        .reduce((sum, l) => sum + l.quantity, 0);
      expect({ pid, ...s }).toMatchObject({
        pid,
        product_id: pid,
        available: SEEDED - shipped,
        reserved: 0,
        shipped,
      });
    }

    // Carts: one order per checked-out cart, the cart pointing at it; every 200's order completed.
    const carts = await scan<{ shopping_cart_id: number; status: string; order_id?: number }>(
      env.CARTS_TABLE,
    );
    const cartOrders = orders.filter((o) => o.source === "cart");
    for (const c of carts.filter((x) => x.status === "checked_out")) {
      const mine = cartOrders.filter((o) => o.cart_id === c.shopping_cart_id);
      expect(mine.map((o) => o.order_id)).toEqual([String(c.order_id)]);
    }
    expect(cartOrders.every((o) => carts.some((c) => c.order_id === Number(o.order_id)))).toBe(true);
    for (const { cart, answer } of checkouts) {
      if (answer.status !== 200 && answer.body.error !== "CART_CHECKED_OUT") continue;
      const orderId =
        answer.status === 200 ? answer.body.order_id : (answer.body.data as { order_id: number }).order_id;
      expect({ cart, status: byId.get(String(orderId))?.status }).toEqual({ cart, status: "completed" });
    }
    expect(completedCart.length).toBeGreaterThan(0);

    // Charges: exactly one approved charge per completed order, none for anything else.
    const ledger = (
      await scan<{ key: string; charge?: { result: { approved: boolean } } }>(env.IDEMPOTENCY_TABLE)
    )
      .filter((i) => i.key.startsWith("charge:"))
      .map((i) => ({ key: i.key.slice("charge:".length), approved: i.charge?.result.approved }));
    const completed = orders.filter((o) => o.status === "completed");
    expect(
      ledger
        .filter((c) => c.approved)
        .map((c) => c.key)
        .sort(),
    ).toEqual(completed.map(chargeKey).sort());

    // Nothing was dead-lettered.
    const sqs = new SQSClient({
      endpoint: env.AWS_ENDPOINT_URL_SQS,
      region: "us-east-1",
      credentials: { accessKeyId: "l", secretAccessKey: "l" },
    });
    const dlq = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queues.dlqUrl,
        AttributeNames: ["ApproximateNumberOfMessages"],
      }),
    );
    sqs.destroy();
    expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe("0");
    console.log(
      `[figure] chaos: ${checkouts.length} checkouts (${completedCart.length} completed), ${accepted.size} async orders, ${ROUNDS.length} pauses, ${resent} requests resent`,
    );
  }, 300_000);
});
