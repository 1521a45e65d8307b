import type { AuctionBook, ItemState, NewItem } from "../../src/domain/auctions.ts";
import { newItemState } from "../../src/domain/auctions.ts";

/** A new item with every field set: a one-hour auction from `now`, no extension, no reserve. */
export function testItem(over: Partial<NewItem> = {}, now = Date.now()): NewItem {
  const ends = over.ends_at ?? now + 3_600_000;
  return {
    item_id: "i",
    name: "Lamp",
    description: null,
    start_price: 100,
    min_increment: 1,
    ends_at: ends,
    created_at: now,
    extend_window_s: 0,
    max_end_at: ends,
    reserve_price: 0,
    relisted_from: null,
    ...over,
  };
}

/** A book state: `testItem` plus live fields. */
export const testState = (over: Partial<ItemState> = {}): ItemState => ({
  ...newItemState(testItem({}, 0)),
  ...over,
});

/** Every method of `book`, bound, so a test can replace some of them in a plain object. */
export const bookOf = (book: AuctionBook): AuctionBook => ({
  kind: book.kind,
  create: (i) => book.create(i),
  get: (id) => book.get(id),
  bid: (r) => book.bid(r),
  closeDue: (now, limit) => book.closeDue(now, limit),
  nextEnd: () => book.nextEnd(),
  claimSettlements: (now, lease, limit) => book.claimSettlements(now, lease, limit),
  deferSettlement: (id, at) => book.deferSettlement(id, at),
  settle: (id, result, now) => book.settle(id, result, now),
  list: (q) => book.list(q),
  bids: (id, q) => book.bids(id, q),
});
