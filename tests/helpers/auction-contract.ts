/**
 * The bidder's HTTP contract (docs/auctions.md): one suite, run against each bid strategy in this
 * process (auctions-api.test.ts) and against shop under Deno (deno.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createItem, future, post } from "./auctions.ts";

export interface AuctionTarget {
  url: string;
  stop(): Promise<void>;
}

export function bidderContract(name: string, start: () => Promise<AuctionTarget>): void {
  describe(`bidder contract (${name})`, () => {
    let target: AuctionTarget;
    let base: string;
    beforeAll(async () => {
      target = await start();
      base = target.url;
    });
    afterAll(() => target.stop());

    test("create → 201 with defaults; the same id again → 409", async () => {
      const res = await post(`${base}/api/v1/items`, {
        item_id: "lamp-1",
        name: "Lamp",
        description: "brass",
        start_price: 100.57,
        ends_at: "2099-01-01T00:00:00Z",
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        item_id: "lamp-1",
        name: "Lamp",
        description: "brass",
        status: "open",
        start_price: 100.57,
        min_increment: 0.01,
        current_bid: 0,
        highest_bidder_id: null,
        bid_count: 0,
        ends_at: "2099-01-01T00:00:00.000Z",
        extend_window_s: 0,
        max_end_at: "2099-01-01T00:00:00.000Z",
        reserve_met: false,
        settlement_status: null,
        order_id: null,
        relisted_from: null,
        relisted_as: null,
      });
      const again = await post(`${base}/api/v1/items`, {
        item_id: "lamp-1",
        name: "x",
        start_price: 1,
        ends_at: future(),
      });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe("CONFLICT");
    });

    test("create without item_id generates one", async () => {
      const res = await post(`${base}/api/v1/items`, { name: "Vase", start_price: 1, ends_at: future() });
      expect(res.status).toBe(201);
      expect(res.body.item_id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect((await fetch(`${base}/api/v1/items/${res.body.item_id}`)).status).toBe(200);
    });

    test.each([
      [{ item_id: "bad id!", name: "x", start_price: 1, ends_at: future() }, "item_id"],
      [{ item_id: "a".repeat(65), name: "x", start_price: 1, ends_at: future() }, "item_id"],
      [{ start_price: 1, ends_at: future() }, "name"],
      [{ name: "x", start_price: 0, ends_at: future() }, "start_price"],
      [{ name: "x", start_price: -1, ends_at: future() }, "start_price"],
      [{ name: "x", start_price: 1.001, ends_at: future() }, "start_price"],
      [{ name: "x", start_price: "1", ends_at: future() }, "start_price"],
      [{ name: "x", start_price: 1, min_increment: 0, ends_at: future() }, "min_increment"],
      [{ name: "x", start_price: 1, ends_at: "2001-01-01T00:00:00Z" }, "ends_at"],
      [{ name: "x", start_price: 1, ends_at: "tomorrow" }, "ends_at"],
      [{ name: "x", start_price: 1 }, "ends_at"],
    ])("create %j → 400 naming %s", async (body, field) => {
      const res = await post(`${base}/api/v1/items`, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("INVALID_INPUT");
      expect(res.body.details).toContain(field);
    });

    test("malformed JSON and wrong content type get the uniform body", async () => {
      const bad = await fetch(`${base}/api/v1/items`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{",
      });
      expect(bad.status).toBe(400);
      expect((await bad.json()).error).toBe("INVALID_INPUT");
      const text = await fetch(`${base}/api/v1/items/lamp-1/bid`, { method: "POST", body: "amount=1" });
      expect(text.status).toBe(415);
    });

    test("GET unknown → 404, malformed id → 400", async () => {
      const res = await fetch(`${base}/api/v1/items/nope`);
      expect(res.status).toBe(404);
      expect((await res.json()).error).toBe("NOT_FOUND");
      expect((await fetch(`${base}/api/v1/items/${"x".repeat(65)}`)).status).toBe(400);
    });

    test("bids: exact amounts, previous_bid, min_next_bid, 404", async () => {
      const { item_id } = await createItem(base, { start_price: 100, min_increment: 0.5 });
      const low = await post(`${base}/api/v1/items/${item_id}/bid`, { user_id: "ann", amount: 99.99 });
      expect(low.status).toBe(409);
      expect(low.body).toMatchObject({
        error: "BID_TOO_LOW",
        details: "current bid 0, minimum next bid 100",
        data: { current_bid: 0, min_next_bid: 100 },
      });

      const first = await post(`${base}/api/v1/items/${item_id}/bid`, { user_id: "ann", amount: 100.57 });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ accepted: true, item_id, amount: 100.57, previous_bid: 0 });
      expect(first.body.bid_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(first.body.event_id).toMatch(/^\d+-\d+$/);

      const tooLow = await post(`${base}/api/v1/items/${item_id}/bid`, { user_id: "bob", amount: 101.06 });
      expect(tooLow.status).toBe(409);
      expect(tooLow.body.data).toEqual({ current_bid: 100.57, min_next_bid: 101.07 });
      expect(tooLow.body.details).toBe("current bid 100.57, minimum next bid 101.07");

      const second = await post(`${base}/api/v1/items/${item_id}/bid`, { user_id: "bob", amount: 101.07 });
      expect(second.status).toBe(201);
      expect(second.body.previous_bid).toBe(100.57);

      const item = await (await fetch(`${base}/api/v1/items/${item_id}`)).json();
      expect(item).toMatchObject({
        current_bid: 101.07,
        highest_bidder_id: "bob",
        bid_count: 2,
        status: "open",
      });

      const unknown = await post(`${base}/api/v1/items/nope/bid`, { user_id: "bob", amount: 1 });
      expect(unknown.status).toBe(404);
    });

    test.each([
      [{ user_id: "", amount: 1 }, "user_id"],
      [{ user_id: "u".repeat(129), amount: 1 }, "user_id"],
      [{ amount: 1 }, "user_id"],
      [{ user_id: "u", amount: 0 }, "amount"],
      [{ user_id: "u", amount: -5 }, "amount"],
      [{ user_id: "u", amount: 1.234 }, "amount"],
      [{ user_id: "u", amount: "10" }, "amount"],
      [{ user_id: "u", amount: 1e13 }, "amount"],
      [{ user_id: "u" }, "amount"],
    ])("bid %j → 400 naming %s", async (body, field) => {
      const res = await post(`${base}/api/v1/items/lamp-1/bid`, body);
      expect(res.status).toBe(400);
      expect(res.body.details).toContain(field);
    });

    test("a closed auction answers 409 AUCTION_CLOSED with the figures", async () => {
      const { item_id } = await createItem(base, { start_price: 5, ends_at: future(400) });
      expect((await post(`${base}/api/v1/items/${item_id}/bid`, { user_id: "a", amount: 5 })).status).toBe(
        201,
      );
      await Bun.sleep(500);
      const late = await post(`${base}/api/v1/items/${item_id}/bid`, { user_id: "b", amount: 50 });
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({
        error: "AUCTION_CLOSED",
        details: "current bid 5, minimum next bid 5.01",
        data: { current_bid: 5, min_next_bid: 5.01 },
      });
      expect((await (await fetch(`${base}/api/v1/items/${item_id}`)).json()).status).toBe("closed");
    });
  });
}
