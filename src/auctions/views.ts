/** The JSON shapes of items and bids at the edge: cents become exact decimal numbers, times ISO 8601. */
import { type BidEvent, type ItemState, isOpen } from "../domain/auctions.ts";
import { fromCents } from "../domain/money.ts";

export function itemView(item: ItemState, now: number) {
  return {
    item_id: item.item_id,
    name: item.name,
    description: item.description,
    status: isOpen(item, now) ? ("open" as const) : ("closed" as const),
    start_price: fromCents(item.start_price),
    min_increment: fromCents(item.min_increment),
    current_bid: fromCents(item.current_bid),
    highest_bidder_id: item.highest_bidder_id,
    bid_count: item.bid_count,
    ends_at: new Date(item.ends_at).toISOString(),
  };
}

export const snapshotFrame = (item: ItemState, now: number): string =>
  JSON.stringify({ type: "snapshot", ...itemView(item, now) });

export const bidFrame = (e: BidEvent): string =>
  JSON.stringify({
    type: "bid",
    event_id: e.event_id,
    item_id: e.item_id,
    bid_id: e.bid_id,
    user_id: e.user_id,
    amount: fromCents(e.amount),
    previous_bid: fromCents(e.previous_bid),
    timestamp: new Date(e.timestamp).toISOString(),
  });
