import { describe, expect, test } from "bun:test";
import { MemoryAuctionBook, MemoryBidArchive, MemoryBidStream } from "../../src/adapters/memory/auctions.ts";
import { compareEventIds } from "../../src/domain/auctions.ts";
import { fromCents, MAX_AMOUNT, toCents } from "../../src/domain/money.ts";
import { testItem } from "../helpers/auction-items.ts";

describe("toCents", () => {
  test("every two-decimal amount up to 100000.00 converts exactly and back", () => {
    for (let cents = 0; cents <= 10_000_000; cents += 7) {
      const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
      expect(toCents(Number(text))).toBe(cents);
      expect(JSON.stringify(fromCents(cents))).toBe(String(Number(text)));
    }
  });

  test("the issue's example and large values are exact", () => {
    expect(toCents(100.57)).toBe(10057);
    expect(JSON.stringify(fromCents(10057))).toBe("100.57");
    expect(toCents(0.01)).toBe(1);
    expect(toCents(999_999_999_999.99)).toBe(99_999_999_999_999);
    expect(toCents(1e12)).toBe(MAX_AMOUNT * 100);
  });

  test("more than two decimals, non-finite and out-of-range amounts are rejected", () => {
    for (const n of [
      100.571,
      0.005,
      0.1 + 0.2,
      1e-7,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e12 + 0.01,
      1e15,
    ]) {
      expect(toCents(n)).toBeUndefined();
    }
  });
});

test("stream ids compare numerically by time, then sequence", () => {
  expect(compareEventIds("10-0", "9-5")).toBeGreaterThan(0);
  expect(compareEventIds("10-2", "10-10")).toBeLessThan(0);
  expect(compareEventIds("10-3", "10-3")).toBe(0);
});

describe("memory book and stream", () => {
  const setup = async () => {
    const stream = new MemoryBidStream();
    const book = new MemoryAuctionBook(stream);
    await book.create(testItem({ start_price: 10_000, ends_at: Date.now() + 60_000 }));
    return { stream, book };
  };
  const bid = (book: MemoryAuctionBook, amount: number, n: number) =>
    book.bid({
      item_id: "i",
      user_id: `u${n}`,
      amount,
      bid_id: crypto.randomUUID(),
      proxy_bid_id: crypto.randomUUID(),
      now: Date.now(),
    });

  test("accepted bids append in order with increasing ids and sequence numbers", async () => {
    const { stream, book } = await setup();
    expect((await bid(book, 10_000, 1)).kind).toBe("accepted");
    expect((await bid(book, 10_000, 2)).kind).toBe("too_low");
    expect((await bid(book, 10_001, 3)).kind).toBe("accepted");
    expect(
      (await book.bid({ item_id: "x", user_id: "u", amount: 1, bid_id: "b", proxy_bid_id: "p", now: 0 }))
        .kind,
    ).toBe("not_found");
    const events = await stream.read("0-0", 10, 0);
    expect(events.map((e) => e.type)).toEqual(["item", "bid", "bid"]);
    const bids = events.filter((e) => e.type === "bid");
    expect(bids.map((b) => [b.amount, b.previous_bid, b.seq])).toEqual([
      [10_000, 0, 1],
      [10_001, 10_000, 2],
    ]);
    expect(compareEventIds(events[1]?.event_id ?? "", events[2]?.event_id ?? "")).toBeLessThan(0);
    expect(await book.create(testItem())).toBe(false);
  });

  test("group: unacked entries are claimed after the idle time, and trimming keeps them", async () => {
    const { stream, book } = await setup();
    for (let i = 0; i < 5; i++) await bid(book, 10_000 + i, i);
    const first = await stream.readGroup("a", 3, 0);
    expect(first).toHaveLength(3);
    await stream.ack([first[0]?.event_id ?? ""]);
    expect(await stream.claimStale("b", 60_000, 10)).toHaveLength(0);
    const claimed = await stream.claimStale("b", 0, 10);
    expect(claimed.map((e) => e.event_id)).toEqual(first.slice(1).map((e) => e.event_id));
    await stream.trimArchived("9999999999999-0");
    expect(stream.size()).toBe(5);
    await stream.ack(claimed.map((e) => e.event_id));
    await stream.trimArchived("9999999999999-0");
    expect(stream.size()).toBe(3);
    // Retention keeps archived entries younger than the given id for lagging broadcasters.
    const rest = await stream.readGroup("a", 10, 0);
    await stream.ack(rest.map((e) => e.event_id));
    await stream.trimArchived("0-0");
    expect(stream.size()).toBe(3);
  });

  test("a blocked reader wakes on append", async () => {
    const { stream, book } = await setup();
    const last = await stream.lastId();
    const read = stream.read(last, 10, 5_000);
    await bid(book, 10_000, 1);
    expect((await read).map((e) => e.type)).toEqual(["bid"]);
  });

  test("archive is idempotent by bid_id and keeps the highest bid", async () => {
    const { stream, book } = await setup();
    await bid(book, 10_000, 1);
    await bid(book, 12_000, 2);
    const events = await stream.read("0-0", 10, 0);
    const archive = new MemoryBidArchive();
    await archive.store(events.slice(2));
    await archive.store(events);
    await archive.store(events);
    const summary = await archive.summary("i");
    expect(summary?.bid_count).toBe(2);
    expect(summary?.current_bid).toBe(12_000);
  });
});
