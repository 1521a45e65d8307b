import { expect, test } from "bun:test";
import { Registry } from "prom-client";
import { MemoryAuctionBook, MemoryBidStream } from "../../src/adapters/memory/auctions.ts";
import { Broadcaster, CLOSE_ITEM_GONE, CLOSE_SLOW_CONSUMER } from "../../src/auctions/broadcaster.ts";
import type { AuctionBook } from "../../src/domain/auctions.ts";
import { createLogger } from "../../src/observability/log.ts";
import type { WsPeer } from "../../src/runtime.ts";
import { bookOf, testItem } from "../helpers/auction-items.ts";

class FakePeer implements WsPeer {
  frames: { type: string; amount?: number; bid_count?: number }[] = [];
  closed: number | undefined;
  constructor(private capacity = Number.POSITIVE_INFINITY) {}
  send(text: string): boolean {
    if (this.closed !== undefined || this.frames.length >= this.capacity) return false;
    this.frames.push(JSON.parse(text));
    return true;
  }
  bufferedAmount(): number {
    return 0;
  }
  close(code: number): void {
    this.closed = code;
  }
}

async function setup(book?: (b: MemoryAuctionBook) => AuctionBook) {
  const stream = new MemoryBidStream();
  const memory = new MemoryAuctionBook(stream);
  await memory.create(testItem({ ends_at: Date.now() + 60_000 }));
  const hub = new Broadcaster(stream, book ? book(memory) : memory, createLogger("silent"), new Registry());
  await hub.start();
  let n = 0;
  const bid = () =>
    memory.bid({
      item_id: "i",
      user_id: "u",
      amount: 100 + n++,
      bid_id: crypto.randomUUID(),
      proxy_bid_id: crypto.randomUUID(),
      now: Date.now(),
    });
  return { hub, bid };
}

const settle = () => Bun.sleep(30);

test("snapshot first, then every bid in order; a slow subscriber is closed without affecting others", async () => {
  const { hub, bid } = await setup();
  const fast = new FakePeer();
  const slow = new FakePeer(3);
  await hub.open("i", fast);
  await hub.open("i", slow);
  for (let i = 0; i < 10; i++) await bid();
  await settle();
  await hub.stop();
  expect(fast.frames[0]?.type).toBe("snapshot");
  expect(fast.frames.slice(1).map((f) => f.amount)).toEqual([
    1, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09,
  ]);
  expect(slow.closed).toBe(CLOSE_SLOW_CONSUMER);
  expect(slow.frames).toHaveLength(3);
});

test("bids racing the snapshot read are delivered once: those in the snapshot are not repeated", async () => {
  let bidDuringSnapshot: (() => Promise<unknown>) | undefined;
  const { hub, bid } = await setup((memory) => ({
    ...bookOf(memory),
    kind: "slow",
    get: async (id) => {
      // One bid lands before the snapshot is read (it is in the snapshot), one after (it is not).
      await bidDuringSnapshot?.();
      const snapshot = await memory.get(id);
      await bidDuringSnapshot?.();
      await settle();
      return snapshot;
    },
  }));
  bidDuringSnapshot = bid;
  const peer = new FakePeer();
  await hub.open("i", peer);
  bidDuringSnapshot = undefined;
  await bid();
  await settle();
  await hub.stop();
  expect(peer.frames[0]).toMatchObject({ type: "snapshot", bid_count: 1 });
  expect(peer.frames.slice(1).map((f) => f.amount)).toEqual([1.01, 1.02]);
});

test("an item that vanished before the snapshot closes the socket with 4404", async () => {
  const { hub } = await setup();
  const peer = new FakePeer();
  await hub.open("nope", peer);
  await hub.stop();
  expect(peer.closed).toBe(CLOSE_ITEM_GONE);
});
