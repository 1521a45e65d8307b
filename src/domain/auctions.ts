/**
 * Auction rules and the ports every auction backend implements. Money is integer cents everywhere
 * below the HTTP edge (domain/money.ts converts).
 */
import { MAX_AMOUNT, moneyCents } from "./money.ts";

/** A positive amount of money in a request body (a price, an increment, a bid), converted to cents. */
export const bidMoney = (example: number) =>
  moneyCents({ min: 0, positive: true, max: MAX_AMOUNT, maxLabel: "10^12", example });

export const ITEM_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface NewItem {
  item_id: string;
  name: string;
  description: string | null;
  start_price: number;
  min_increment: number;
  /** Epoch milliseconds. */
  ends_at: number;
  created_at: number;
}

/** What the book holds per item. `bid_count` doubles as the sequence number of the item's last bid. */
export interface ItemState extends NewItem {
  current_bid: number;
  highest_bidder_id: string | null;
  bid_count: number;
}

export type Decision =
  | { kind: "accept" }
  | { kind: "too_low" | "closed"; current_bid: number; min_next_bid: number };

export const isOpen = (item: Pick<ItemState, "ends_at">, now: number): boolean => now < item.ends_at;

/** The smallest acceptable next bid: the start price, or the current bid plus the increment if higher. */
export const minNextBid = (item: Pick<ItemState, "start_price" | "current_bid" | "min_increment">): number =>
  Math.max(item.start_price, item.current_bid + item.min_increment);

/**
 * The acceptance rule: a bid is accepted iff the auction is open and the amount reaches min_next_bid.
 * The Lua script in adapters/redis/auctions.ts mirrors this line for line.
 */
export function decideBid(item: ItemState, amount: number, now: number): Decision {
  const min = minNextBid(item);
  if (!isOpen(item, now)) return { kind: "closed", current_bid: item.current_bid, min_next_bid: min };
  if (amount < min) return { kind: "too_low", current_bid: item.current_bid, min_next_bid: min };
  return { kind: "accept" };
}

/** The state after an accepted bid. */
export function applyBid(item: ItemState, bid: BidEvent): ItemState {
  return {
    ...item,
    current_bid: bid.amount,
    highest_bidder_id: bid.user_id,
    bid_count: bid.seq,
  };
}

export interface BidRequest {
  item_id: string;
  user_id: string;
  amount: number;
  bid_id: string;
  now: number;
}

export type BidOutcome =
  | { kind: "accepted"; event: BidEvent }
  | { kind: "too_low" | "closed"; current_bid: number; min_next_bid: number }
  | { kind: "not_found" }
  /** Optimistic strategy only: every retry lost the race. */
  | { kind: "contended" };

/** One entry of the bid stream. Amounts in cents, timestamp in epoch ms. */
export interface BidEvent {
  type: "bid";
  event_id: string;
  item_id: string;
  bid_id: string;
  user_id: string;
  amount: number;
  previous_bid: number;
  timestamp: number;
  /**
   * The item's bid_count after this bid. A snapshot with bid_count n already contains bids 1..n, so a
   * subscriber gets exactly the events with seq > n, whichever of snapshot and stream reader is ahead.
   */
  seq: number;
}

/** Appended when an item is created so the archive learns its details from the stream alone. */
export interface ItemEvent {
  type: "item";
  event_id: string;
  item: NewItem;
}

export type StreamEvent = BidEvent | ItemEvent;

/** Stream ids are `<ms>-<seq>` (Redis' format, also used by the in-process stream). */
export function compareEventIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

/** The live state of every item and the only writer of the bid stream: each accepted bid is appended atomically. */
export interface AuctionBook {
  readonly kind: string;
  /** False when the id is taken. The item event is appended with the item. */
  create(item: NewItem): Promise<boolean>;
  get(itemId: string): Promise<ItemState | undefined>;
  bid(request: BidRequest): Promise<BidOutcome>;
  ready?(): Promise<void>;
}

/** A stream entry as a consumer group hands it out: the archiver acks `event_id` after committing. */
export interface BidStream {
  readonly kind: string;
  /** The id of the newest entry, or "0-0": a new reader starts after it. */
  lastId(): Promise<string>;
  /** Entries after `afterId` in order, waiting up to `blockMs` for the first one. */
  read(afterId: string, count: number, blockMs: number): Promise<StreamEvent[]>;
  /** Consumer group: new entries for `consumer`, waiting up to `blockMs`. */
  readGroup(consumer: string, count: number, blockMs: number): Promise<StreamEvent[]>;
  /** Consumer group: entries another consumer left unacked for `minIdleMs`, now owned by `consumer`. */
  claimStale(consumer: string, minIdleMs: number, count: number): Promise<StreamEvent[]>;
  ack(eventIds: string[]): Promise<void>;
  /** Drops entries older than both every unacked entry of the group and `keepAfterId`. */
  trimArchived(keepAfterId: string): Promise<void>;
}

/** The durable record: storing is idempotent by bid_id and raises an item's current_bid monotonically. */
export interface BidArchive {
  readonly kind: string;
  migrate(): Promise<void>;
  /** One transaction: item rows first, then bids; a bid already stored is skipped. */
  store(events: StreamEvent[]): Promise<void>;
  /** For checks and tests: what the archive holds for an item. */
  summary(itemId: string): Promise<{ current_bid: number; bid_count: number; bid_ids: string[] } | undefined>;
  close(): Promise<void>;
  ready?(): Promise<void>;
}
