/**
 * Closing exactly once across processes: two bidder processes close the same few thousand auctions,
 * ending together, and one is killed with SIGKILL in the middle of it and started again. Every item
 * must be closed by exactly one closed event, and never left open, on both strategies.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { RedisAuctionBook, redisKeys } from "../../src/adapters/redis/auctions.ts";
import { testItem } from "../helpers/auction-items.ts";
import { dropRedisPrefix, REDIS_URL, redisClient, runId, until } from "../helpers/auctions.ts";
import { type Spawned, spawnShop } from "../helpers/shop.ts";

const run = runId("closing");
afterAll(() => dropRedisPrefix(`${run}:`));

const ITEMS = 3000;

for (const strategy of ["lua", "optimistic"] as const) {
  describe(`closing (${strategy})`, () => {
    test("two closers racing, one killed mid-close and restarted: every item closed exactly once", async () => {
      const prefix = `${run}:${strategy}:`;
      const keys = redisKeys(prefix);
      const redis = await redisClient();
      const book = new RedisAuctionBook(redis as never, keys, "lua", undefined, 1);
      const ends = Date.now() + 4000;
      for (let i = 0; i < ITEMS; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            book.create(
              testItem({ item_id: `c${i + j}`, start_price: 100, ends_at: ends + ((i + j) % 7) }, Date.now()),
            ),
          ),
        );
      }
      // Some sold (a winner, settlement queued), the rest unsold.
      for (let i = 0; i < ITEMS; i += 10) {
        await book.bid({
          item_id: `c${i}`,
          user_id: "7",
          amount: 100,
          bid_id: crypto.randomUUID(),
          proxy_bid_id: crypto.randomUUID(),
          now: Date.now(),
        });
      }
      const env = {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        BID_STRATEGY: strategy,
        AUCTION_CLOSE_BATCH: "10",
        AUCTION_CLOSE_POLL_MS: "10",
        LOG_LEVEL: "warn",
      };
      const children: Spawned[] = [];
      try {
        children.push(await spawnShop(["--role", "bidder"], env), await spawnShop(["--role", "bidder"], env));
        const open = () => redis.zCard(keys.ends);
        expect(await until(async () => (await open()) < ITEMS - 200, 20_000, 1)).toBe(true);
        const victim = children[0] as Spawned;
        victim.proc.kill("SIGKILL");
        await victim.proc.exited;
        const left = await open();
        expect(left).toBeGreaterThan(0);
        children.push(await spawnShop(["--role", "bidder"], env));
        expect(await until(async () => (await open()) === 0, 30_000, 20)).toBe(true);

        const entries = (await redis.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [string, string[]][];
        const closes = new Map<string, number>();
        for (const [, f] of entries) {
          const fields: Record<string, string | undefined> = Object.fromEntries(
            f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : [])),
          );
          const id = fields.item_id ?? "";
          if (fields.t === "closed") closes.set(id, (closes.get(id) ?? 0) + 1);
        }
        expect(closes.size).toBe(ITEMS);
        expect([...closes.values()].every((n) => n === 1)).toBe(true);
        const statuses = new Map<string, number>();
        for (let i = 0; i < ITEMS; i++) {
          const s = (await redis.hGet(keys.item(`c${i}`), "status")) ?? "missing";
          statuses.set(s, (statuses.get(s) ?? 0) + 1);
        }
        expect(Object.fromEntries(statuses)).toEqual({ closed: ITEMS / 10, unsold: ITEMS - ITEMS / 10 });
        expect(await redis.zCard(keys.settle)).toBe(ITEMS / 10);
      } finally {
        for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
        await redis.close();
      }
    }, 90_000);
  });
}
