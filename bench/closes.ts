/**
 * Closing at scale: 10,000 auctions ending within the same second, closed by one bidder process
 * (the closer, pinned to BENCH_SERVER_CORE) on real Redis, then by two racing closers, in the same run
 * (closing is one Lua script in both bid strategies: see RedisAuctionBook.closeDue). Prints
 * closes/s (items over the time from the first end to the last close) and the close delay (close
 * time − ends_at) p50/p99/max from the closed events themselves. 10% of the items have a bid, so their
 * close also queues a settlement. Usage: bun bench/closes.ts [--items 10000] [--batch 200]
 */
import { createClient } from "redis";
import { RedisAuctionBook, redisKeys } from "../src/adapters/redis/auctions.ts";
import { arg, dropPrefix, header, num, REDIS_URL, startShop } from "./lib.ts";

const items = arg("items", 10_000);
const batch = arg("batch", 200);

type Redis = ReturnType<typeof createClient>;

async function fill(redis: Redis, prefix: string, endSecond: number): Promise<void> {
  const book = new RedisAuctionBook(redis as never, redisKeys(prefix), "lua", undefined, 1);
  for (let i = 0; i < items; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, items - i) }, async (_, j) => {
        const n = i + j;
        const ends = endSecond + (n % 1000);
        await book.create({
          item_id: `b${n}`,
          name: "bench",
          description: null,
          start_price: 100,
          min_increment: 1,
          ends_at: ends,
          created_at: Date.now(),
          extend_window_s: 0,
          max_end_at: ends,
          reserve_price: 0,
          relisted_from: null,
        });
        if (n % 10 === 0) {
          await book.bid({
            item_id: `b${n}`,
            user_id: "7",
            amount: 100,
            bid_id: crypto.randomUUID(),
            proxy_bid_id: crypto.randomUUID(),
            now: Date.now(),
          });
        }
      }),
    );
  }
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

async function run(closers: number) {
  const prefix = `bench_closes_${closers}_${Date.now().toString(36)}:`;
  const redis: Redis = createClient({ url: REDIS_URL });
  await redis.connect();
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, AUCTION_CLOSE_BATCH: String(batch), LOG_LEVEL: "error" };
  const shops = await Promise.all(
    Array.from({ length: closers }, () => startShop(["--role", "bidder"], env)),
  );
  try {
    // Whole seconds from now, far enough ahead for the fill to finish first.
    const endSecond = Math.ceil((Date.now() + 6000) / 1000) * 1000;
    await fill(redis, prefix, endSecond);
    if (Date.now() > endSecond) throw new Error("filling took longer than the lead time; lower --items");
    const keys = redisKeys(prefix);
    while ((await redis.zCard(keys.ends)) > 0) await Bun.sleep(20);
    const entries = (await redis.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [string, string[]][];
    const delays: number[] = [];
    let last = 0;
    for (const [, f] of entries) {
      const m: Record<string, string | undefined> = {};
      for (let i = 0; i + 1 < f.length; i += 2) m[f[i] as string] = f[i + 1];
      if (m.t !== "closed") continue;
      const ts = Number(m.ts);
      delays.push(ts - Number(m.ends_at));
      last = Math.max(last, ts);
    }
    delays.sort((a, b) => a - b);
    if (delays.length !== items) throw new Error(`expected ${items} closes, saw ${delays.length}`);
    return {
      closers,
      closesPerS: items / ((last - endSecond) / 1000),
      p50: pct(delays, 0.5),
      p99: pct(delays, 0.99),
      max: delays.at(-1) ?? NaN,
    };
  } finally {
    await Promise.all(shops.map((shop) => shop.stop()));
    await redis.close();
    await dropPrefix(prefix);
  }
}

header(`closes: ${num(items)} auctions ending within one second, batch ${batch}`);
const results = [await run(1), await run(2)];
const one = results[0]?.closesPerS ?? NaN;
console.log("closers   closes/s   delay p50 ms   p99 ms   max ms   vs one");
for (const r of results) {
  console.log(
    `${String(r.closers).padEnd(7)} ${num(r.closesPerS).padStart(10)} ${num(r.p50).padStart(14)} ${num(r.p99).padStart(8)} ${num(r.max).padStart(8)} ${num(r.closesPerS / one, 2).padStart(8)}`,
  );
}
console.log("target: close delay p99 <= 1000 ms");
