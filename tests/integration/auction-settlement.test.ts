/**
 * Settlement on the production components in separate processes: two bidders (closers) on Redis,
 * orders in DynamoDB (DynamoDB Local) published through SNS → SQS (fauxqs), a processor killed with SIGKILL
 * while it charges, then restarted. Every win must end as exactly one completed order, charged once,
 * and exactly one settled event per item.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { RedisAuctionBook, redisKeys } from "../../src/adapters/redis/auctions.ts";
import { settlementOrderId } from "../../src/domain/auctions.ts";
import { testItem } from "../helpers/auction-items.ts";
import { dropRedisPrefix, REDIS_URL, redisClient, runId, until } from "../helpers/auctions.ts";
import { createCommerceTables, type Queues, startQueues } from "../helpers/aws.ts";
import { dynamoClient, sharedDynamoDb } from "../helpers/deps.ts";
import { metric } from "../helpers/http.ts";
import { type Spawned, spawnShop } from "../helpers/shop.ts";

const prefix = `${runId("settle")}:`;
let dynamoUrl = "";
let queues: Queues;
let env: Record<string, string>;

beforeAll(async () => {
  dynamoUrl = (await sharedDynamoDb()).url;
  queues = await startQueues({ maxReceiveCount: 10, visibilityS: 2 });
  env = {
    ...(await createCommerceTables(dynamoUrl)),
    ...queues.env,
    QUEUE_VISIBILITY_TIMEOUT_S: "2",
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    AUCTION_CLOSE_POLL_MS: "20",
    AUCTION_SETTLE_POLL_MS: "50",
    AUCTION_SETTLE_LEASE_MS: "1000",
    LOG_LEVEL: "warn",
  };
});
afterAll(async () => {
  await queues.stop();
  await dropRedisPrefix(prefix);
});

/** Gateway charges recorded per settlement order id; a second charge for one order throws. */
async function charges(): Promise<Map<string, number>> {
  const db = dynamoClient(dynamoUrl);
  const out = new Map<string, number>();
  let start: Record<string, never> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({ TableName: env.IDEMPOTENCY_TABLE, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) {
      const key = item.key?.S ?? "";
      if (key.startsWith("charge:order:auction-")) out.set(key.slice(13), (out.get(key.slice(13)) ?? 0) + 1);
    }
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  db.destroy();
  return out;
}

const ITEMS = 40;

test("kill -9 of the processor while it charges auction wins: every win one completed order, charged once", async () => {
  const redis = await redisClient();
  const keys = redisKeys(prefix);
  const book = new RedisAuctionBook(redis as never, keys, "lua", undefined, 1);
  const children: Spawned[] = [];
  try {
    const ends = Date.now() + 1500;
    const ids = Array.from({ length: ITEMS }, (_, i) => `s${i}`);
    for (const [i, id] of ids.entries()) {
      await book.create(testItem({ item_id: id, start_price: 500, ends_at: ends }, Date.now()));
      await book.bid({
        item_id: id,
        user_id: String(100 + i),
        amount: 500 + i,
        bid_id: crypto.randomUUID(),
        proxy_bid_id: crypto.randomUUID(),
        now: Date.now(),
      });
    }
    children.push(await spawnShop(["--role", "bidder"], env), await spawnShop(["--role", "bidder"], env));
    let processor = await spawnShop(["--role", "processor"], {
      ...env,
      PAYMENT_SIM_MS: "1500",
      PROCESSOR_CONCURRENCY: "50",
    });
    children.push(processor);
    expect(
      await until(async () => (await metric(processor.url, "processor_orders_in_flight")) >= 10, 20_000, 20),
    ).toBe(true);
    processor.proc.kill("SIGKILL");
    await processor.proc.exited;
    processor = await spawnShop(["--role", "processor"], { ...env, PAYMENT_SIM_MS: "50" });
    children.push(processor);

    const settled = async () =>
      (await Promise.all(ids.map((id) => redis.hGet(keys.item(id), "settlement_status")))).filter(
        (s) => s === "settled",
      ).length;
    expect(await until(async () => (await settled()) === ITEMS, 45_000, 100)).toBe(true);

    const charged = await charges();
    expect(charged.size).toBe(ITEMS);
    for (const id of ids) expect(charged.get(settlementOrderId(id))).toBe(1);
    const bidder = children[0] as Spawned;
    for (const [i, id] of ids.entries()) {
      const order = (await (await fetch(`${bidder.url}/api/v1/items/${id}`)).json()) as Record<
        string,
        unknown
      >;
      expect(order).toMatchObject({
        status: "settled",
        order_id: settlementOrderId(id),
        highest_bidder_id: String(100 + i),
      });
    }
    const entries = (await redis.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [string, string[]][];
    const settledEvents = entries.filter(([, f]) => f[1] === "settled").map(([, f]) => f[3]);
    expect(settledEvents.sort()).toEqual([...ids].sort());
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
    await redis.close();
  }
}, 120_000);
