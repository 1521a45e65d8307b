/**
 * Resumable feeds across a broadcaster restart (a separate process, killed with SIGKILL) and after the
 * stream was trimmed: `?since=` gets exactly the frames after that id, or a snapshot with recovered: false.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { redisKeys } from "../../src/adapters/redis/auctions.ts";
import {
  createItem,
  dropRedisPrefix,
  post,
  REDIS_URL,
  redisClient,
  runId,
  Subscriber,
  until,
} from "../helpers/auctions.ts";
import { type Spawned, spawnShop, startTestShop, type TestShop } from "../helpers/shop.ts";

const prefix = `${runId("resume")}:`;
const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix };
let bidder: TestShop;
beforeAll(async () => {
  bidder = await startTestShop(["bidder"], env);
});
afterAll(async () => {
  await bidder.stop();
  await dropRedisPrefix(prefix);
});

test("after a broadcaster restart the client resumes with its last event id: no gap, no duplicate", async () => {
  const { item_id } = await createItem(bidder.url, { start_price: 0.01, min_increment: 0.01 });
  let cents = 0;
  const bid = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await post(`${bidder.url}/api/v1/items/${item_id}/bid`, {
        user_id: "9",
        amount: ++cents / 100,
      });
      expect(res.status).toBe(201);
    }
  };
  const children: Spawned[] = [];
  try {
    const first = await spawnShop(["--role", "broadcaster"], env);
    children.push(first);
    const sub = new Subscriber(`${first.url.replace("http", "ws")}/ws/items/${item_id}`);
    await sub.opened;
    await bid(5);
    expect(await until(() => sub.bids().length === 5)).toBe(true);
    const last = sub.bids().at(-1)?.event_id as string;
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    expect(await until(() => sub.closed !== undefined)).toBe(true);
    await bid(5);

    const second = await spawnShop(["--role", "broadcaster"], env);
    children.push(second);
    const resumed = new Subscriber(`${second.url.replace("http", "ws")}/ws/items/${item_id}?since=${last}`);
    await resumed.opened;
    await bid(3);
    expect(await until(() => resumed.bids().length === 8)).toBe(true);
    await Bun.sleep(100);
    expect(resumed.frames.map((f) => f.type)).toEqual(Array(8).fill("bid"));
    expect(resumed.bids().map((f) => f.amount)).toEqual([6, 7, 8, 9, 10, 11, 12, 13].map((c) => c / 100));
    resumed.close();

    // The archiver trims what it archived; a client further back than the stream reaches gets a snapshot.
    const redis = await redisClient();
    const keys = redisKeys(prefix);
    const newest = (
      (await redis.sendCommand(["XREVRANGE", keys.stream, "+", "-", "COUNT", "1"])) as [string][]
    )[0]?.[0];
    await redis.sendCommand(["XTRIM", keys.stream, "MINID", newest as string]);
    await redis.close();
    const behind = new Subscriber(`${second.url.replace("http", "ws")}/ws/items/${item_id}?since=${last}`);
    await behind.opened;
    expect(await until(() => behind.frames.length > 0)).toBe(true);
    expect(behind.frames[0]).toMatchObject({
      type: "snapshot",
      recovered: false,
      bid_count: 13,
      current_bid: 0.13,
    });
    await bid(1);
    expect(await until(() => behind.bids().length === 1)).toBe(true);
    expect(behind.bids()[0]?.amount).toBe(0.14);
    behind.close();
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  }
}, 60_000);
