/**
 * The ceiling for bench/bids.ts: Bun.serve and node-redis running the same bid script as shop, with
 * no framework, validation, logging or metrics. Not part of shop.
 */
import { createClient } from "redis";
import { RedisAuctionBook, redisKeys } from "../src/adapters/redis/auctions.ts";

const client = createClient({ url: process.env.REDIS_URL });
await client.connect();
const keys = redisKeys(process.env.REDIS_KEY_PREFIX ?? "bare:");
const book = new RedisAuctionBook(client, keys, "lua", undefined, 1);

Bun.serve({
  port: Number(process.env.PORT),
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    const parts = url.pathname.split("/");
    if (url.pathname === "/ready") return new Response("ok");
    if (req.method === "POST" && url.pathname === "/api/v1/items") {
      const b = (await req.json()) as { item_id: string; name: string; start_price: number; ends_at: string };
      await book.create({
        item_id: b.item_id,
        name: b.name,
        description: null,
        start_price: Math.round(b.start_price * 100),
        min_increment: 1,
        ends_at: Date.parse(b.ends_at),
        created_at: Date.now(),
        extend_window_s: 0,
        max_end_at: Date.parse(b.ends_at),
        reserve_price: 0,
        relisted_from: null,
      });
      return Response.json({ item_id: b.item_id }, { status: 201 });
    }
    const itemId = parts[4] ?? "";
    if (req.method === "GET") return Response.json(await book.get(itemId));
    const b = (await req.json()) as { user_id: string; amount: number };
    const outcome = await book.bid({
      item_id: itemId,
      user_id: b.user_id,
      amount: Math.round(b.amount * 100),
      bid_id: crypto.randomUUID(),
      proxy_bid_id: crypto.randomUUID(),
      now: Date.now(),
    });
    return Response.json(outcome, { status: outcome.kind === "accepted" ? 201 : 409 });
  },
});
