import { afterAll, describe, expect, test } from "bun:test";
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
import { startTestShop } from "../helpers/shop.ts";

const run = runId("contention");
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const BIDDERS = 1000;

for (const strategy of ["lua", "optimistic"] as const) {
  describe(`${BIDDERS} concurrent bidders on one item (${strategy})`, () => {
    test("accepted amounts rise strictly in stream order; Redis and PostgreSQL agree", async () => {
      const prefix = `${run}_${strategy}:`;
      const schema = `${run}_${strategy}`;
      cleanups.push(
        () => dropRedisPrefix(prefix),
        () => dropSchema(schema),
      );
      const shop = await startTestShop(["bidder", "archiver"], {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        BID_STRATEGY: strategy,
        ARCHIVER_BATCH: "200",
      });
      try {
        const { item_id } = await createItem(shop.url, { start_price: 1 });
        const results = await Promise.all(
          Array.from({ length: BIDDERS }, async (_, i) => {
            // Random amounts, so the order of arrival decides which are accepted.
            const amount = Math.round((1 + Math.random() * 999) * 100) / 100;
            const res = await post(`${shop.url}/api/v1/items/${item_id}/bid`, {
              user_id: `bidder-${i}`,
              amount,
            });
            return { ...res, amount };
          }),
        );
        const statuses = new Set(results.map((r) => `${r.status} ${r.body?.error ?? ""}`.trim()));
        const allowed = ["201", "409 BID_TOO_LOW", ...(strategy === "optimistic" ? ["503 TRY_AGAIN"] : [])];
        for (const s of statuses) expect(allowed).toContain(s);
        const accepted = results.filter((r) => r.status === 201);
        expect(accepted.length).toBeGreaterThan(0);

        const redis = await redisClient();
        const entries = (await redis.sendCommand(["XRANGE", `${prefix}auction:events`, "-", "+"])) as [
          string,
          string[],
        ][];
        await redis.close();
        const streamBids = entries
          .map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))))
          .filter((f) => f.t === "bid");
        const amounts = streamBids.map((f) => Number(f.amount));
        for (let i = 1; i < amounts.length; i++) expect(amounts[i]).toBeGreaterThan(amounts[i - 1] as number);
        expect(streamBids.map((f) => Number(f.seq))).toEqual(streamBids.map((_, i) => i + 1));
        expect(new Set(streamBids.map((f) => f.bid_id))).toEqual(new Set(accepted.map((r) => r.body.bid_id)));

        const highest = Math.max(...accepted.map((r) => r.amount));
        const item = await (await fetch(`${shop.url}/api/v1/items/${item_id}`)).json();
        expect(item.current_bid).toBe(highest);
        expect(item.bid_count).toBe(accepted.length);

        const caughtUp = await until(async () => {
          const [row] = await sql<{ n: string }>(
            schema,
            "SELECT count(*) AS n FROM bids WHERE item_id = $1",
            [item_id],
          );
          return Number(row?.n) === accepted.length;
        });
        expect(caughtUp).toBe(true);
        const [archived] = await sql<{ current_bid: string; name: string }>(
          schema,
          "SELECT current_bid, name FROM items WHERE item_id = $1",
          [item_id],
        );
        expect(Number(archived?.current_bid)).toBe(Math.round(highest * 100));
        expect(archived?.name).toBe("Lamp");
        const ids = await sql<{ bid_id: string }>(schema, "SELECT bid_id FROM bids WHERE item_id = $1", [
          item_id,
        ]);
        expect(new Set(ids.map((r) => r.bid_id))).toEqual(new Set(accepted.map((r) => r.body.bid_id)));
      } finally {
        await shop.stop();
      }
    }, 60_000);
  });
}
