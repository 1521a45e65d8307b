/**
 * The auction house end to end on each backend: memory, and Redis + PostgreSQL with each bid strategy,
 * every role in one process (so the closer settles into the in-process order pipeline): proxy bids,
 * the hidden maximum, anti-sniping extensions, reserve, the close and its frame, settlement into an
 * order (and a failed charge relisting the item), listings, bid history, resumable feeds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MemoryChargeLedger } from "../../src/adapters/memory/charges.ts";
import { settlementOrderId } from "../../src/domain/auctions.ts";
import type { Role } from "../../src/modules/registry.ts";
import {
  createItem,
  DATABASE_URL,
  dropRedisPrefix,
  dropSchema,
  future,
  post,
  REDIS_URL,
  runId,
  Subscriber,
  sql,
  until,
} from "../helpers/auctions.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const run = runId("house");
const fast = {
  AUCTION_CLOSE_POLL_MS: "20",
  AUCTION_SETTLE_POLL_MS: "20",
  PAYMENT_SIM_MS: "0",
  ARCHIVER_BATCH: "100",
  LOG_LEVEL: "info",
};
const backends: { name: string; schema?: string; env: Record<string, string> }[] = [
  { name: "memory", env: {} },
  ...(["lua", "optimistic"] as const).map((strategy) => ({
    name: `redis ${strategy} + postgresql`,
    schema: `${run}_${strategy}`,
    env: {
      REDIS_URL,
      REDIS_KEY_PREFIX: `${run}:${strategy}:`,
      BID_STRATEGY: strategy,
      DATABASE_URL,
      DATABASE_SCHEMA: `${run}_${strategy}`,
    },
  })),
];

afterAll(async () => {
  await dropRedisPrefix(`${run}:`);
  for (const b of backends) if (b.schema) await dropSchema(b.schema);
});

const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
};

for (const backend of backends) {
  describe(`auction house (${backend.name})`, () => {
    let shop: TestShop;
    let base: string;
    let ws: string;
    beforeAll(async () => {
      shop = await startTestShop(["all"] as Role[], { ...fast, ...backend.env });
      base = shop.url;
      ws = base.replace("http", "ws");
    });
    afterAll(() => shop.stop());
    const bid = (item: string, body: Record<string, unknown>) =>
      post(`${base}/api/v1/items/${item}/bid`, body);
    const item = async (id: string) => (await getJson(`${base}/api/v1/items/${id}`)).body;

    test("proxy bids answer for the bidder; the hidden maximum appears in no response, frame, log line or archive row", async () => {
      const { item_id } = await createItem(base, { start_price: 10, min_increment: 1 });
      const sub = new Subscriber(`${ws}/ws/items/${item_id}`);
      await sub.opened;
      const first = await bid(item_id, { user_id: "17", amount: 10, max_amount: 987.65 });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ amount: 10, current_bid: 10, leading: true, previous_bid: 0 });
      // A challenger below the maximum is answered at once, one increment above.
      const second = await bid(item_id, { user_id: "18", amount: 20 });
      expect(second.status).toBe(201);
      expect(second.body).toMatchObject({ amount: 20, current_bid: 21, leading: false, previous_bid: 10 });
      const third = await bid(item_id, { user_id: "18", amount: 22, max_amount: 500 });
      expect(third.body).toMatchObject({ amount: 500, current_bid: 501, leading: false });
      const tooLow = await bid(item_id, { user_id: "19", amount: 501 });
      expect(tooLow.status).toBe(409);
      expect(tooLow.body.data).toEqual({ current_bid: 501, min_next_bid: 502 });
      const badMax = await bid(item_id, { user_id: "19", amount: 600, max_amount: 550 });
      expect(badMax.status).toBe(400);
      expect(badMax.body.details).toContain("max_amount");

      expect(await item(item_id)).toMatchObject({ current_bid: 501, highest_bidder_id: "17", bid_count: 5 });
      expect(await until(() => sub.bids().length === 5)).toBe(true);
      expect(sub.bids().map((f) => [f.user_id, f.amount, f.auto])).toEqual([
        ["17", 10, false],
        ["18", 20, false],
        ["17", 21, true],
        ["18", 500, true],
        ["17", 501, true],
      ]);
      const history = await getJson(`${base}/api/v1/items/${item_id}/bids?limit=3`);
      // The archive lags the book a little when it is the source.
      if (backend.schema) {
        expect(
          await until(
            async () => (await getJson(`${base}/api/v1/items/${item_id}/bids`)).body.bids.length === 5,
          ),
        ).toBe(true);
      }
      const page = backend.schema ? await getJson(`${base}/api/v1/items/${item_id}/bids?limit=3`) : history;
      expect(page.body.bids.map((b: { amount: number }) => b.amount)).toEqual([501, 500, 21]);
      const rest = await getJson(
        `${base}/api/v1/items/${item_id}/bids?limit=3&cursor=${page.body.next_cursor}`,
      );
      expect(rest.body.bids.map((b: { amount: number }) => b.amount)).toEqual([20, 10]);
      expect(rest.body.next_cursor).toBeNull();

      const seen = [
        JSON.stringify([
          first.body,
          second.body,
          third.body,
          tooLow.body,
          await item(item_id),
          page.body,
          rest.body,
        ]),
        JSON.stringify(sub.frames),
        shop.logs.join(""),
      ];
      if (backend.schema) {
        const rows = await sql(
          backend.schema,
          `SELECT row_to_json(t)::text AS r FROM (SELECT * FROM items WHERE item_id = $1) t
           UNION ALL SELECT row_to_json(b)::text FROM bids b WHERE item_id = $1
           UNION ALL SELECT row_to_json(e)::text FROM item_events e WHERE item_id = $1`,
          [item_id],
        );
        expect(rows.length).toBeGreaterThan(5);
        seen.push(JSON.stringify(rows));
      }
      for (const text of seen) {
        expect(text).not.toContain("987.65");
        expect(text).not.toContain("98765");
      }
      sub.close();
    });

    test("a bid in the last extend_window_s moves ends_at (never past max_end_at); the close reaches every subscriber", async () => {
      const ends = Date.now() + 1500;
      const { item_id } = await createItem(base, {
        start_price: 1,
        ends_at: new Date(ends).toISOString(),
        extend_window_s: 2,
        max_end_at: new Date(ends + 1000).toISOString(),
      });
      const subs = [new Subscriber(`${ws}/ws/items/${item_id}`), new Subscriber(`${ws}/ws/items/${item_id}`)];
      await Promise.all(subs.map((s) => s.opened));
      const res = await bid(item_id, { user_id: "21", amount: 5 });
      expect(res.status).toBe(201);
      const moved = Date.parse(res.body.ends_at);
      expect(moved).toBeGreaterThan(ends);
      expect(moved).toBeLessThanOrEqual(ends + 1000);
      expect(Date.parse((await item(item_id)).ends_at)).toBe(moved);
      expect(await until(() => subs.every((s) => s.frames.some((f) => f.type === "extended")))).toBe(true);
      expect(subs[0]?.frames.find((f) => f.type === "extended")).toMatchObject({
        item_id,
        ends_at: new Date(moved).toISOString(),
      });
      // Past the original end the auction is still open, until the moved end.
      await Bun.sleep(Math.max(0, ends + 50 - Date.now()));
      if (Date.now() < moved - 50)
        expect((await bid(item_id, { user_id: "22", amount: 6 })).status).toBe(201);
      expect(await until(() => subs.every((s) => s.frames.some((f) => f.type === "closed")), 10_000)).toBe(
        true,
      );
      const state = await item(item_id);
      for (const s of subs) {
        expect(s.frames.find((f) => f.type === "closed")).toMatchObject({
          type: "closed",
          item_id,
          winner_id: state.highest_bidder_id,
          amount: state.current_bid,
          reserve_met: true,
        });
      }
      expect(Date.parse(state.ends_at)).toBeLessThanOrEqual(ends + 1000);
      const late = await bid(item_id, { user_id: "23", amount: 100 });
      expect(late.status).toBe(409);
      expect(late.body.error).toBe("AUCTION_CLOSED");
      for (const s of subs) s.close();
    });

    test("below the reserve at the close: unsold; reserve_met shows, the reserve never does", async () => {
      const { item_id } = await createItem(base, { start_price: 1, reserve_price: 50, ends_at: soon(700) });
      expect((await bid(item_id, { user_id: "31", amount: 49 })).status).toBe(201);
      const open = await item(item_id);
      expect(open.reserve_met).toBe(false);
      expect(JSON.stringify(open)).not.toContain("reserve_price");
      expect(await until(async () => (await item(item_id)).status === "unsold", 10_000)).toBe(true);
      expect(await item(item_id)).toMatchObject({ settlement_status: null, order_id: null, current_bid: 49 });
      const met = await createItem(base, { start_price: 1, reserve_price: 50 });
      const lifted = await bid(met.item_id, { user_id: "32", amount: 1, max_amount: 80 });
      expect(lifted.body).toMatchObject({ amount: 50, current_bid: 50, leading: true });
      expect((await item(met.item_id)).reserve_met).toBe(true);
    });

    test("a win becomes one order, charged through the processor: the item is settled and shows it", async () => {
      const { item_id } = await createItem(base, { start_price: 12.5, ends_at: soon(600) });
      const sub = new Subscriber(`${ws}/ws/items/${item_id}`);
      await sub.opened;
      await bid(item_id, { user_id: "41", amount: 12.5 });
      await bid(item_id, { user_id: "42", amount: 13, max_amount: 20 });
      expect(await until(async () => (await item(item_id)).status === "settled", 15_000)).toBe(true);
      const orderId = settlementOrderId(item_id);
      expect(await item(item_id)).toMatchObject({
        status: "settled",
        settlement_status: "settled",
        order_id: orderId,
      });
      const order = await getJson(`${base}/orders/${orderId}`);
      expect(order.body).toMatchObject({
        order_id: orderId,
        customer_id: 42,
        status: "completed",
        total: 13,
        items: [{ product_id: item_id, quantity: 1, price: 13 }],
      });
      expect(await until(() => sub.frames.some((f) => f.type === "settled"))).toBe(true);
      expect(sub.frames.map((f) => f.type)).toEqual(["snapshot", "bid", "bid", "closed", "settled"]);
      expect(sub.frames.at(-1)).toMatchObject({
        settlement_status: "settled",
        order_id: orderId,
        relisted_as: null,
      });
      if (backend.schema) {
        const ok = await until(async () => {
          const [row] = await sql<{ status: string; order_id: string; winner_id: string }>(
            backend.schema as string,
            "SELECT status, order_id, winner_id FROM items WHERE item_id = $1",
            [item_id],
          );
          return row?.status === "settled" && row.order_id === orderId && row.winner_id === "42";
        });
        expect(ok).toBe(true);
        const events = await sql<{ type: string }>(
          backend.schema,
          "SELECT type FROM item_events WHERE item_id = $1 ORDER BY seq",
          [item_id],
        );
        expect(events.map((e) => e.type)).toEqual(["closed", "settled"]);
      }
      sub.close();
    });

    test("a failed charge is settlement_failed and the item is relisted once", async () => {
      const { item_id } = await createItem(base, { start_price: 5, ends_at: soon(600), reserve_price: 6 });
      // The gateway answers this order's charge with a decline (its ledger replays recorded results).
      const ledger = shop.shop.manager.get("chargeLedger") as MemoryChargeLedger;
      await ledger.record({
        key: `order:${settlementOrderId(item_id)}`,
        amount_cents: 700,
        result: { approved: false, reason: "card declined by issuer" },
        at: new Date().toISOString(),
      });
      await bid(item_id, { user_id: "51", amount: 7 });
      expect(
        await until(async () => (await item(item_id)).settlement_status === "settlement_failed", 15_000),
      ).toBe(true);
      const failed = await item(item_id);
      expect(failed.status).toBe("closed");
      expect(failed.relisted_as).toMatch(/-relist-/);
      const relisted = await item(failed.relisted_as);
      expect(relisted).toMatchObject({
        status: "open",
        relisted_from: item_id,
        bid_count: 0,
        reserve_met: false,
      });
      expect((await getJson(`${base}/orders/${settlementOrderId(item_id)}`)).body.status).toBe("failed");
    });

    test("a winner who is not a customer cannot be charged: settlement_failed, relisted", async () => {
      const { item_id } = await createItem(base, { start_price: 5, ends_at: soon(500) });
      await bid(item_id, { user_id: "ann", amount: 5 });
      expect(
        await until(async () => (await item(item_id)).settlement_status === "settlement_failed", 15_000),
      ).toBe(true);
      expect((await getJson(`${base}/orders/${settlementOrderId(item_id)}`)).status).toBe(404);
    });

    test("listings: status and ending_before filters, cursor pages stable while items are created", async () => {
      const tag = `l${Math.random().toString(36).slice(2, 8)}`;
      const ids = Array.from({ length: 12 }, (_, i) => `${tag}-${String(i).padStart(2, "0")}`);
      for (const id of ids)
        await createItem(base, { item_id: id, ends_at: future(3_600_000 + ids.indexOf(id) * 1000) });
      const seen: string[] = [];
      let cursor: string | undefined = `${tag}-`;
      let pages = 0;
      while (cursor !== undefined) {
        const page = await getJson(`${base}/api/v1/items?status=open&limit=5&cursor=${cursor}`);
        expect(page.status).toBe(200);
        // Concurrent writes: new items before and after the cursor must not shift the pages.
        await createItem(base, { item_id: `${tag}-0${pages}x` });
        await createItem(base, { item_id: `${tag}a${pages}` });
        seen.push(...page.body.items.map((i: { item_id: string }) => i.item_id));
        cursor = page.body.next_cursor ?? undefined;
        if (cursor !== undefined && !cursor.startsWith(`${tag}-`)) break;
        pages++;
      }
      const mine = seen.filter((id) => ids.includes(id));
      expect(mine).toEqual(ids);
      expect(new Set(seen).size).toBe(seen.length);
      const soonest = await getJson(
        `${base}/api/v1/items?status=open&limit=100&cursor=${tag}-&ending_before=${encodeURIComponent(
          new Date(Date.now() + 3_600_000 + 2_500).toISOString(),
        )}`,
      );
      expect(
        soonest.body.items
          .map((i: { item_id: string }) => i.item_id)
          .filter((id: string) => ids.includes(id)),
      ).toEqual(ids.slice(0, 3));
      expect((await getJson(`${base}/api/v1/items?status=sold`)).status).toBe(400);
      expect((await getJson(`${base}/api/v1/items?limit=0`)).status).toBe(400);
      expect((await getJson(`${base}/api/v1/items/nope/bids`)).status).toBe(404);
    });

    test("a feed resumed with ?since= replays every frame after that id, once, then goes on live", async () => {
      const { item_id } = await createItem(base, { start_price: 0.01, min_increment: 0.01 });
      const first = new Subscriber(`${ws}/ws/items/${item_id}`);
      await first.opened;
      for (let c = 1; c <= 5; c++) await bid(item_id, { user_id: "61", amount: c / 100 });
      expect(await until(() => first.bids().length === 5)).toBe(true);
      const since = first.bids()[1]?.event_id as string;
      first.close();
      for (let c = 6; c <= 8; c++) await bid(item_id, { user_id: "62", amount: c / 100 });
      const resumed = new Subscriber(`${ws}/ws/items/${item_id}?since=${since}`);
      await resumed.opened;
      for (let c = 9; c <= 10; c++) await bid(item_id, { user_id: "63", amount: c / 100 });
      expect(await until(() => resumed.bids().length === 8)).toBe(true);
      await Bun.sleep(100);
      expect(resumed.frames.some((f) => f.type === "snapshot")).toBe(false);
      expect(resumed.bids().map((f) => f.amount)).toEqual([0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]);
      resumed.close();
      const bad = await fetch(`${base}/ws/items/${item_id}?since=yesterday`, {
        headers: { Upgrade: "websocket" },
      });
      expect(bad.status).toBe(400);
      // An id the stream does not hold (here: from the future, as after Redis lost its data) is not resumable.
      const lost = new Subscriber(`${ws}/ws/items/${item_id}?since=99999999999999-0`);
      await lost.opened;
      expect(await until(() => lost.frames.length > 0)).toBe(true);
      expect(lost.frames[0]).toMatchObject({ type: "snapshot", recovered: false, bid_count: 10 });
      lost.close();
    });
  });
}
