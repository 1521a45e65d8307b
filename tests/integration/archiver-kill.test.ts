import { afterAll, expect, test } from "bun:test";
import {
  createItem,
  DATABASE_URL,
  dropRedisPrefix,
  dropSchema,
  post,
  REDIS_URL,
  redisClient,
  runId,
  sql,
  until,
} from "../helpers/auctions.ts";
import { type Spawned, spawnShop, startTestShop } from "../helpers/shop.ts";

const run = runId("archkill");
const prefix = `${run}:`;
const stream = `${prefix}auction:events`;
afterAll(async () => {
  await dropRedisPrefix(prefix);
  await dropSchema(run);
});

const archiverEnv = {
  REDIS_URL,
  REDIS_KEY_PREFIX: prefix,
  DATABASE_URL,
  DATABASE_SCHEMA: run,
  ARCHIVER_BATCH: "50",
  ARCHIVER_CLAIM_IDLE_MS: "300",
  LOG_LEVEL: "info",
};

test("kill -9 of the archiver mid-batch, then a restart: every accepted bid is archived exactly once", async () => {
  const bidder = await startTestShop(["bidder"], { REDIS_URL, REDIS_KEY_PREFIX: prefix });
  const redis = await redisClient();
  const children: Spawned[] = [];
  let bidding = true;
  let bidders: Promise<void>[] = [];
  try {
    const { item_id } = await createItem(bidder.url, { start_price: 0.01, min_increment: 0.01 });
    const accepted: string[] = [];
    let amount = 1;
    // Eight bidders raising the price one cent at a time until told to stop (bounded by count).
    bidders = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; bidding && i < 5000; i++) {
        const res = await post(`${bidder.url}/api/v1/items/${item_id}/bid`, {
          user_id: `w${w}`,
          amount: amount++ / 100,
        });
        if (res.status === 201) accepted.push(res.body.bid_id);
      }
    });

    const first = await spawnShop(["--role", "archiver"], archiverEnv);
    children.push(first);
    // The archiver creates its group at its first read, which may come after /ready answers: no group yet
    // is nothing pending (asking then is NOGROUP).
    const pending = async () => {
      try {
        return ((await redis.sendCommand(["XPENDING", stream, "archiver"])) as [number])[0];
      } catch (err) {
        if (err instanceof Error && err.message.startsWith("NOGROUP")) return 0;
        throw err;
      }
    };
    // Kill while a batch has been read but not yet acknowledged: the archiver is inside its transaction.
    // Frozen first (SIGSTOP), so it cannot acknowledge between the check and the kill.
    const midBatch = await until(
      async () => {
        if (accepted.length <= 300 || (await pending()) === 0) return false;
        first.proc.kill("SIGSTOP");
        if ((await pending()) > 0) return true;
        first.proc.kill("SIGCONT");
        return false;
      },
      15_000,
      1,
    );
    expect(midBatch).toBe(true);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    expect(await pending()).toBeGreaterThan(0);

    const second = await spawnShop(["--role", "archiver"], archiverEnv);
    children.push(second);
    await Bun.sleep(300);
    bidding = false;
    await Promise.all(bidders);

    const count = async () =>
      Number(
        (await sql<{ n: string }>(run, "SELECT count(*) AS n FROM bids WHERE item_id = $1", [item_id]))[0]?.n,
      );
    expect(await until(async () => (await count()) === accepted.length, 20_000)).toBe(true);
    const rows = await sql<{ bid_id: string }>(run, "SELECT bid_id FROM bids WHERE item_id = $1", [item_id]);
    expect(rows.length).toBe(accepted.length);
    expect(new Set(rows.map((r) => r.bid_id))).toEqual(new Set(accepted));
    expect(await until(async () => (await pending()) === 0, 5_000)).toBe(true);

    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
    expect(await second.output()).toContain("took over unacknowledged entries");
  } finally {
    // Whatever failed, the bidders stop before their server does: left running, they would post to a
    // stopped server and their ECONNREFUSED would be reported instead of the failure (or in a later test).
    bidding = false;
    await Promise.allSettled(bidders);
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
    await redis.close();
    await bidder.stop();
  }
}, 60_000);
