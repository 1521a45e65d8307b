import { afterAll, beforeAll, expect, test } from "bun:test";
import { createItem, type Frame, post, Subscriber, until } from "../helpers/auctions.ts";
import { spawnShop, startTestShop, type TestShop } from "../helpers/shop.ts";

let shop: TestShop;
let ws: string;
beforeAll(async () => {
  shop = await startTestShop(["all"], { WS_SEND_BUFFER_BYTES: "16384" });
  ws = shop.url.replace("http", "ws");
});
afterAll(() => shop.stop());

const amountsOf = (frames: Frame[]) => frames.map((f) => f.amount as number);

test("unknown item: 404 with the uniform body before any upgrade", async () => {
  const res = await fetch(`${shop.url}/ws/items/nope`, {
    headers: {
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
    },
  });
  expect(res.status).toBe(404);
  expect((await res.json()).error).toBe("NOT_FOUND");
});

test("100 subscribers get the snapshot, then every accepted bid in order", async () => {
  const { item_id } = await createItem(shop.url, { start_price: 1 });
  await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "early", amount: 1 });
  const subs = Array.from({ length: 100 }, () => new Subscriber(`${ws}/ws/items/${item_id}`));
  await Promise.all(subs.map((s) => s.opened));
  expect(await until(() => subs.every((s) => s.frames.length >= 1))).toBe(true);
  for (const s of subs)
    expect(s.frames[0]).toMatchObject({ type: "snapshot", item_id, current_bid: 1, bid_count: 1 });

  const accepted: { event_id: string; amount: number }[] = [];
  let next = 101;
  await Promise.all(
    Array.from({ length: 10 }, async (_, w) => {
      for (let i = 0; i < 20; i++) {
        const amount = next++ / 100;
        const res = await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: `w${w}`, amount });
        if (res.status === 201) accepted.push({ event_id: res.body.event_id, amount });
      }
    }),
  );
  expect(accepted.length).toBeGreaterThan(0);
  expect(await until(() => subs.every((s) => s.bids().length >= accepted.length))).toBe(true);
  const expected = accepted.sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
  for (const s of subs) {
    expect(s.bids().map((f) => f.event_id)).toEqual(expected.map((a) => a.event_id));
    const amounts = amountsOf(s.bids());
    for (let i = 1; i < amounts.length; i++) expect(amounts[i]).toBeGreaterThan(amounts[i - 1] as number);
    expect(s.bids()[0]).toMatchObject({ type: "bid", item_id, previous_bid: 1 });
    expect(Object.keys(s.bids()[0] ?? {}).sort()).toEqual(
      [
        "type",
        "event_id",
        "item_id",
        "bid_id",
        "user_id",
        "amount",
        "previous_bid",
        "auto",
        "timestamp",
      ].sort(),
    );
  }
  for (const s of subs) s.close();
}, 30_000);

test("a stalled subscriber is closed with 4008 and the others get every bid", async () => {
  const { item_id } = await createItem(shop.url, { start_price: 0.01, min_increment: 0.01 });
  const stalled = new Subscriber(`${ws}/ws/items/${item_id}`);
  const others = Array.from({ length: 5 }, () => new Subscriber(`${ws}/ws/items/${item_id}`));
  await Promise.all([stalled, ...others].map((s) => s.opened));
  expect(await until(() => [stalled, ...others].every((s) => s.frames.length >= 1))).toBe(true);
  // Stops reading: the server sees TCP backpressure, as from a client on a dead network.
  stalled.pause();

  const book = shop.shop.manager.get("auctionBook");
  const user = "u".repeat(128);
  let placed = 0;
  const slowClosed = async () =>
    (await (await fetch(`${shop.url}/metrics`)).text()).includes("ws_slow_consumer_closes_total 1");
  // Bounded: kernel socket buffers absorb a few MB before the server's own buffer fills.
  while (placed < 40_000 && !(placed % 2000 === 0 && placed > 0 && (await slowClosed()))) {
    await book.bid({
      item_id,
      user_id: user,
      amount: ++placed,
      bid_id: crypto.randomUUID(),
      proxy_bid_id: crypto.randomUUID(),
      now: Date.now(),
    });
    if (placed % 500 === 0) await Bun.sleep(5);
  }
  expect(await slowClosed()).toBe(true);
  expect(await until(() => others.every((s) => s.bids().length === placed), 20_000)).toBe(true);
  for (const s of others) {
    expect(amountsOf(s.bids())).toEqual(Array.from({ length: placed }, (_, i) => (i + 1) / 100));
    expect(s.closed).toBeUndefined();
  }
  stalled.resume();
  expect(await until(() => stalled.closed !== undefined, 20_000)).toBe(true);
  expect(stalled.closed?.code).toBe(4008);
  expect(stalled.bids().length).toBeLessThan(placed);
  for (const s of others) s.close();
}, 60_000);

test("SIGTERM closes subscribers with 1001 and the process exits 0", async () => {
  const child = await spawnShop(["--role", "all"]);
  try {
    const { item_id } = await createItem(child.url);
    const sub = new Subscriber(`${child.url.replace("http", "ws")}/ws/items/${item_id}`);
    await sub.opened;
    expect(await until(() => sub.frames.length === 1)).toBe(true);
    child.proc.kill("SIGTERM");
    expect(await child.proc.exited).toBe(0);
    expect(await until(() => sub.closed !== undefined)).toBe(true);
    expect(sub.closed?.code).toBe(1001);
  } finally {
    if (child.proc.exitCode === null) child.proc.kill("SIGKILL");
  }
}, 30_000);
