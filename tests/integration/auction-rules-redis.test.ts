/**
 * The Lua scripts and the optimistic path implement the domain rules: random sequences of bids (plain
 * and proxy, several bidders, reserve, extension window, times up to past the end) and closes run on
 * the memory book (which calls domain/auctions.ts) and on Redis with each strategy must give the same
 * outcomes, the same events and the same final state.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MemoryAuctionBook, MemoryBidStream } from "../../src/adapters/memory/auctions.ts";
import { RedisAuctionBook, redisKeys } from "../../src/adapters/redis/auctions.ts";
import { createRedisPool } from "../../src/adapters/redis/connections.ts";
import type { AuctionBook, BidOutcome, ItemState } from "../../src/domain/auctions.ts";
import { createLogger } from "../../src/observability/log.ts";
import { testItem } from "../helpers/auction-items.ts";
import { dropRedisPrefix, REDIS_URL, redisClient, runId } from "../helpers/auctions.ts";

const run = runId("rules");
afterAll(() => dropRedisPrefix(`${run}:`));

const bidArb = fc.record({
  user: fc.constantFrom("a", "b", "c"),
  /** Increments above the minimum (negative: below it). */
  steps: fc.integer({ min: -1, max: 4 }),
  extra: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
  dt: fc.integer({ min: 0, max: 4000 }),
});
const scenarioArb = fc.record({
  reserve: fc.constantFrom(0, 0, 2500, 4000),
  window: fc.constantFrom(0, 0, 2, 5),
  bids: fc.array(bidArb, { minLength: 1, maxLength: 12 }),
});

/** What a book answered and what it holds, without the ids that differ between books. */
const shape = (o: BidOutcome) =>
  o.kind === "accepted"
    ? {
        ...o,
        events: o.events.map((e) => ({
          ...e,
          event_id: "",
          item_id: "",
          bid_id: e.type === "bid" ? e.bid_id : "",
        })),
      }
    : o;
const state = (i: ItemState | undefined) => i && { ...i, item_id: "", created_at: 0 };

for (const strategy of ["lua", "optimistic"] as const) {
  describe(`Redis (${strategy}) agrees with the domain rules`, () => {
    test("random bid sequences and closes give the same outcomes, events and state", async () => {
      const client = await redisClient();
      const pool = createRedisPool(
        { url: REDIS_URL, password: undefined, failFast: true },
        createLogger("silent"),
        4,
      );
      await pool.connect();
      const redis: AuctionBook = new RedisAuctionBook(
        client as never,
        redisKeys(`${run}:${strategy}:`),
        strategy,
        pool as never,
        50,
      );
      let n = 0;
      try {
        await fc.assert(
          fc.asyncProperty(scenarioArb, async ({ reserve, window, bids }) => {
            const memory = new MemoryAuctionBook(new MemoryBidStream());
            const id = `p${n++}`;
            const start = 1_000_000;
            const item = testItem(
              {
                item_id: id,
                start_price: 1000,
                min_increment: 100,
                ends_at: start + 10_000,
                max_end_at: start + 14_000,
                extend_window_s: window,
                reserve_price: reserve,
              },
              start,
            );
            await memory.create(item);
            await redis.create(item);
            let now = start;
            for (const [i, b] of bids.entries()) {
              now += b.dt;
              const current = (await memory.get(id)) as ItemState;
              const amount = Math.max(current.start_price, current.current_bid + 100) + b.steps * 100;
              const request = {
                item_id: id,
                user_id: b.user,
                amount,
                max_amount: b.extra === undefined ? undefined : amount + b.extra,
                bid_id: crypto.randomUUID(),
                proxy_bid_id: crypto.randomUUID(),
                now,
              };
              const [m, r] = [await memory.bid(request), await redis.bid(request)];
              expect(shape(r)).toEqual(shape(m));
              if (i === bids.length - 1 || b.dt > 3500) {
                // A close at this time: the same outcome, or none on both while still open.
                const [mc, rc] = [await memory.closeDue(now, 1000), await redis.closeDue(now, 1000)];
                const mine = (c: typeof mc) =>
                  c.filter((e) => e.item_id === id).map((e) => ({ ...e, event_id: "" }));
                expect(mine(rc)).toEqual(mine(mc));
              }
              expect(state(await redis.get(id))).toEqual(state(await memory.get(id)));
            }
          }),
          { numRuns: 150 },
        );
      } finally {
        await pool.close();
        await client.close();
      }
    }, 120_000);
  });
}
