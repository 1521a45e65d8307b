/**
 * The JSON shapes of items, bids and live frames at the edge: cents become exact decimal numbers,
 * times ISO 8601. Built field by field, never by spreading the book's state, so the leader's hidden
 * maximum and the reserve price cannot leak into a response or a frame.
 */
import {
  type BidEvent,
  type BidRecord,
  type ItemState,
  type ItemUpdate,
  reserveMet,
  settlementOrderId,
  viewStatus,
} from "../domain/auctions.ts";
import { fromCents } from "../domain/money.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export function itemView(item: ItemState, now: number) {
  return {
    item_id: item.item_id,
    name: item.name,
    description: item.description,
    status: viewStatus(item, now),
    start_price: fromCents(item.start_price),
    min_increment: fromCents(item.min_increment),
    current_bid: fromCents(item.current_bid),
    highest_bidder_id: item.highest_bidder_id,
    bid_count: item.bid_count,
    ends_at: iso(item.ends_at),
    extend_window_s: item.extend_window_s,
    max_end_at: iso(item.max_end_at),
    reserve_met: reserveMet(item),
    settlement_status: item.settlement_status,
    order_id: item.settlement_status === null ? null : settlementOrderId(item.item_id),
    relisted_from: item.relisted_from,
    relisted_as: item.relisted_as,
  };
}

export const bidView = (b: BidRecord) => ({
  bid_id: b.bid_id,
  user_id: b.user_id,
  amount: fromCents(b.amount),
  auto: b.auto,
  timestamp: iso(b.timestamp),
});

/** `recovered: false` tells a client that asked to resume that the entries after its id were trimmed. */
export const snapshotFrame = (item: ItemState, now: number, recovered?: false): string =>
  JSON.stringify({
    type: "snapshot",
    ...itemView(item, now),
    ...(recovered === false ? { recovered } : {}),
  });

export const bidFrame = (e: BidEvent): string =>
  JSON.stringify({
    type: "bid",
    event_id: e.event_id,
    item_id: e.item_id,
    bid_id: e.bid_id,
    user_id: e.user_id,
    amount: fromCents(e.amount),
    previous_bid: fromCents(e.previous_bid),
    auto: e.auto,
    timestamp: iso(e.timestamp),
  });

/** Every item event's frame; each carries its event_id, which a client resumes from (`?since=`). */
export function updateFrame(e: ItemUpdate): string {
  switch (e.type) {
    case "bid":
      return bidFrame(e);
    case "extended":
      return JSON.stringify({
        type: "extended",
        event_id: e.event_id,
        item_id: e.item_id,
        ends_at: iso(e.ends_at),
      });
    case "closed":
      return JSON.stringify({
        type: "closed",
        event_id: e.event_id,
        item_id: e.item_id,
        status: e.status,
        winner_id: e.winner_id,
        amount: fromCents(e.amount),
        reserve_met: e.reserve_met,
      });
    case "settled":
      return JSON.stringify({
        type: "settled",
        event_id: e.event_id,
        item_id: e.item_id,
        settlement_status: e.settlement_status,
        order_id: e.order_id,
        relisted_as: e.relisted_as,
      });
  }
}
