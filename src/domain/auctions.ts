/**
 * Auction rules and the ports every auction backend implements. Money is integer cents everywhere
 * below the HTTP edge (domain/money.ts converts). The rules are pure functions: the memory book and
 * the optimistic Redis path call them, and the Lua scripts in adapters/redis/auctions.ts mirror them
 * step for step (closing is a Lua script in both Redis strategies: see RedisAuctionBook.closeDue) (tests/unit/auction-rules.test.ts and the property test hold them to the same outcomes).
 */
import { createHash } from "node:crypto";
import { MAX_AMOUNT, moneyCents } from "./money.ts";

/** A positive amount of money in a request body (a price, an increment, a bid), converted to cents. */
export const bidMoney = (example: number) =>
  moneyCents({ min: 0, positive: true, max: MAX_AMOUNT, maxLabel: "10^12", example });

export const ITEM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Without a max_end_at, extensions stop this long after the original ends_at. */
export const DEFAULT_EXTENSION_CAP_MS = 3_600_000;

export interface NewItem {
  item_id: string;
  name: string;
  description: string | null;
  start_price: number;
  min_increment: number;
  /** Epoch milliseconds. */
  ends_at: number;
  created_at: number;
  /** Anti-sniping: a bid accepted within the last this-many seconds moves ends_at; 0 = off. */
  extend_window_s: number;
  /** Epoch ms: no extension moves ends_at past it (equal to ends_at when extensions are off). */
  max_end_at: number;
  /** Cents; 0 = no reserve. Never leaves the book or the archive. */
  reserve_price: number;
  /** Set on an item relisted after its winner's settlement failed. */
  relisted_from: string | null;
}

/** open → closed → settled, or open → unsold. A closed item whose settlement failed stays closed. */
export type ItemStatus = "open" | "closed" | "settled" | "unsold";
export const ITEM_STATUSES = ["open", "closed", "settled", "unsold"] as const satisfies readonly ItemStatus[];
export type SettlementStatus = "pending" | "settled" | "settlement_failed";

/** What the book holds per item. */
export interface ItemState extends NewItem {
  /** As stored: an open item past ends_at is "ending" until the closer closes it (see viewStatus). */
  status: ItemStatus;
  current_bid: number;
  highest_bidder_id: string | null;
  /** The leader's hidden maximum (>= current_bid). Never in a response, frame, log line or archive column. */
  leader_max: number;
  bid_count: number;
  /**
   * The number of events of this item (bids, extensions, the close, the settlement) so far. Every item
   * event carries the item's seq after it, so a snapshot with seq n already contains events 1..n.
   */
  seq: number;
  settlement_status: SettlementStatus | null;
  relisted_as: string | null;
}

export const newItemState = (item: NewItem): ItemState => ({
  ...item,
  status: "open",
  current_bid: 0,
  highest_bidder_id: null,
  leader_max: 0,
  bid_count: 0,
  seq: 0,
  settlement_status: null,
  relisted_as: null,
});

export const isOpen = (item: Pick<ItemState, "ends_at" | "status">, now: number): boolean =>
  item.status === "open" && now < item.ends_at;

/** The status a reader sees: an item past its end is closed even before the closer has run. */
export const viewStatus = (item: ItemState, now: number): ItemStatus =>
  item.status === "open" && now >= item.ends_at ? "closed" : item.status;

/** The smallest acceptable next bid: the start price, or the current bid plus the increment if higher. */
export const minNextBid = (item: Pick<ItemState, "start_price" | "current_bid" | "min_increment">): number =>
  Math.max(item.start_price, item.current_bid + item.min_increment);

/** The reserve is met once someone leads at or above it; with no reserve, once anyone bid. */
export const reserveMet = (item: Pick<ItemState, "highest_bidder_id" | "current_bid" | "reserve_price">) =>
  item.highest_bidder_id !== null && item.current_bid >= item.reserve_price;

export interface BidInput {
  user_id: string;
  /** What the bidder bids now. */
  amount: number;
  /** Hidden ceiling for automatic bids; the amount itself when absent. */
  max_amount?: number | undefined;
  now: number;
}

/** One visible price step: a bid event. `own` is the bidder's step; the other is the leader's automatic answer. */
export interface BidStep {
  user_id: string;
  amount: number;
  auto: boolean;
  own: boolean;
}

export type BidDecision =
  | { kind: "too_low" | "closed"; current_bid: number; min_next_bid: number }
  | {
      kind: "accept";
      /** In order, strictly rising; at most one own step and one automatic answer. */
      steps: BidStep[];
      leader: string;
      leader_max: number;
      /** The new end when the bid extended the auction, else undefined. */
      extended_to: number | undefined;
    };

/**
 * A maximum at or above the reserve lifts the leader's price to the reserve (eBay's rule), so a
 * bidder willing to pay the reserve never loses the item for bidding less.
 */
const liftToReserve = (price: number, max: number, reserve: number) =>
  reserve > price && max >= reserve ? reserve : price;

/**
 * The bidding rule, proxy bids included. A bid is refused when the auction is closed or the amount is
 * below min_next_bid. Otherwise, against a leader with hidden maximum Lm:
 * - a bidder whose maximum is above Lm leads at max(amount, min(max, Lm + increment)); if their
 *   amount did not already pass Lm, the leader's proxy first bids Lm (an automatic bid);
 * - a maximum at or below Lm loses at once: the bidder's proxy bids its maximum (if that is below the
 *   answer) and the leader's proxy answers min(Lm, max + increment) — ties go to the earlier maximum;
 * - with no leader, or when the leader bids again, the price becomes the amount.
 * Every price is lifted to the reserve when the leading maximum reaches it. A bid accepted within the
 * last extend_window_s moves ends_at to now + extend_window_s, never past max_end_at.
 */
export function decideBid(item: ItemState, bid: BidInput): BidDecision {
  const min = minNextBid(item);
  if (!isOpen(item, bid.now)) return { kind: "closed", current_bid: item.current_bid, min_next_bid: min };
  if (bid.amount < min) return { kind: "too_low", current_bid: item.current_bid, min_next_bid: min };
  const max = Math.max(bid.amount, bid.max_amount ?? bid.amount);
  const reserve = item.reserve_price;
  const leader = item.highest_bidder_id;
  let steps: BidStep[];
  let next: { leader: string; leader_max: number };
  if (leader === null || leader === bid.user_id) {
    const leaderMax = leader === null ? max : Math.max(item.leader_max, max);
    const price = liftToReserve(bid.amount, leaderMax, reserve);
    steps = [{ user_id: bid.user_id, amount: price, auto: price !== bid.amount, own: true }];
    next = { leader: bid.user_id, leader_max: leaderMax };
  } else if (max > item.leader_max) {
    const lm = item.leader_max;
    const price = liftToReserve(Math.max(bid.amount, Math.min(max, lm + item.min_increment)), max, reserve);
    steps = [];
    if (bid.amount <= lm) steps.push({ user_id: leader, amount: lm, auto: true, own: false });
    steps.push({ user_id: bid.user_id, amount: price, auto: price !== bid.amount, own: true });
    next = { leader: bid.user_id, leader_max: max };
  } else {
    const lm = item.leader_max;
    const answer = liftToReserve(Math.min(lm, max + item.min_increment), lm, reserve);
    steps = [];
    if (max < answer) steps.push({ user_id: bid.user_id, amount: max, auto: max !== bid.amount, own: true });
    steps.push({ user_id: leader, amount: answer, auto: true, own: false });
    next = { leader, leader_max: lm };
  }
  return { kind: "accept", steps, ...next, extended_to: extension(item, bid.now) };
}

/** The new end if a bid at `now` falls within the last extend_window_s, capped at max_end_at. */
export function extension(
  item: Pick<ItemState, "ends_at" | "extend_window_s" | "max_end_at">,
  now: number,
): number | undefined {
  if (item.extend_window_s <= 0) return undefined;
  const to = Math.min(item.max_end_at, now + item.extend_window_s * 1000);
  return to > item.ends_at ? to : undefined;
}

export interface CloseOutcome {
  status: "closed" | "unsold";
  winner_id: string | null;
  /** The highest bid (cents), 0 without bids. */
  amount: number;
  reserve_met: boolean;
  settlement_status: SettlementStatus | null;
}

/** At ends_at: sold to the leader if the reserve is met (settlement pending), else unsold. */
export function closeOutcome(item: ItemState): CloseOutcome {
  const met = reserveMet(item);
  return {
    status: met ? "closed" : "unsold",
    winner_id: met ? item.highest_bidder_id : null,
    amount: item.current_bid,
    reserve_met: met,
    settlement_status: met ? "pending" : null,
  };
}

export const isDue = (item: ItemState, now: number): boolean => item.status === "open" && now >= item.ends_at;

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/**
 * The order a win becomes: derived from the item alone, so every closer, retry and restart names the
 * same order and the order pipeline's idempotency makes it exactly one. Hex keeps it inside the order
 * id alphabet whatever the item id holds; Redis' redis.sha1hex gives the same digest.
 */
export const settlementOrderId = (itemId: string): string => `auction-${sha1(itemId)}`;

/**
 * The customer an auction win is charged to. Commerce customers are int32 ids, so a user id that is
 * one (as a JWT subject naming a customer is) is that customer; any other user has no account on file.
 */
export function customerOf(userId: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(userId)) return undefined;
  const id = Number(userId);
  return id <= 2_147_483_647 ? id : undefined;
}

/**
 * What follows a failed settlement: the item is relisted once, as a new auction with the same terms
 * running as long as the first did, from `now`. Its id is derived, so a retry relists the same item.
 */
export function relistOf(item: ItemState, now: number): NewItem {
  const duration = item.ends_at - item.created_at;
  const ends = now + Math.max(duration, 1000);
  return {
    item_id: `${item.item_id.slice(0, 40)}-relist-${sha1(item.item_id).slice(0, 8)}`,
    name: item.name,
    description: item.description,
    start_price: item.start_price,
    min_increment: item.min_increment,
    ends_at: ends,
    created_at: now,
    extend_window_s: item.extend_window_s,
    max_end_at: ends + Math.max(0, item.max_end_at - item.ends_at),
    reserve_price: item.reserve_price,
    relisted_from: item.item_id,
  };
}

export interface BidRequest {
  item_id: string;
  user_id: string;
  amount: number;
  max_amount?: number | undefined;
  /** The bidder's own step. */
  bid_id: string;
  /** The leader's automatic answer, if the bid causes one. */
  proxy_bid_id: string;
  now: number;
  /** The bid span's W3C traceparent, carried into the stream entries when tracing is on. */
  traceparent?: string | undefined;
}

export type BidOutcome =
  | {
      kind: "accepted";
      /** The bid steps and, last, the extension, as appended to the stream. */
      events: (BidEvent | ExtendedEvent)[];
      /** Whether the bidder leads after the bid. */
      leading: boolean;
      previous_bid: number;
      current_bid: number;
      ends_at: number;
    }
  | { kind: "too_low" | "closed"; current_bid: number; min_next_bid: number }
  | { kind: "not_found" }
  /** Optimistic strategy only: every retry lost the race. */
  | { kind: "contended" };

/** One bid event. Amounts in cents, timestamp in epoch ms. */
export interface BidEvent {
  type: "bid";
  event_id: string;
  item_id: string;
  bid_id: string;
  user_id: string;
  amount: number;
  previous_bid: number;
  timestamp: number;
  /** Placed by the book on the bidder's behalf, up to their maximum. */
  auto: boolean;
  /** The item's seq after this event (see ItemState.seq). */
  seq: number;
  /** The placing bid's W3C traceparent, when it was traced: the archiver links to it, the broadcaster continues it. */
  traceparent?: string;
}

export interface ExtendedEvent {
  type: "extended";
  event_id: string;
  item_id: string;
  ends_at: number;
  timestamp: number;
  seq: number;
}

export interface ClosedEvent extends CloseOutcome {
  type: "closed";
  event_id: string;
  item_id: string;
  /** The end it closed at, so the close delay can be measured from the event alone. */
  ends_at: number;
  timestamp: number;
  seq: number;
}

export interface SettledEvent {
  type: "settled";
  event_id: string;
  item_id: string;
  settlement_status: "settled" | "settlement_failed";
  order_id: string;
  relisted_as: string | null;
  timestamp: number;
  seq: number;
}

/** Appended when an item is created so the archive learns its details from the stream alone. */
export interface ItemEvent {
  type: "item";
  event_id: string;
  item: NewItem;
}

export type ItemUpdate = BidEvent | ExtendedEvent | ClosedEvent | SettledEvent;
export type StreamEvent = ItemUpdate | ItemEvent;

/** Builds the events of an accepted decision, numbering them after the item's seq. */
export function decisionEvents(
  item: ItemState,
  decision: Extract<BidDecision, { kind: "accept" }>,
  request: BidRequest,
  ids: string[],
): (BidEvent | ExtendedEvent)[] {
  let previous = item.current_bid;
  const events: (BidEvent | ExtendedEvent)[] = decision.steps.map((s, i) => {
    const e: BidEvent = {
      type: "bid",
      event_id: ids[i] ?? "",
      item_id: item.item_id,
      bid_id: s.own ? request.bid_id : request.proxy_bid_id,
      user_id: s.user_id,
      amount: s.amount,
      previous_bid: previous,
      timestamp: request.now,
      auto: s.auto,
      seq: item.seq + i + 1,
    };
    if (request.traceparent !== undefined) e.traceparent = request.traceparent;
    previous = s.amount;
    return e;
  });
  if (decision.extended_to !== undefined) {
    events.push({
      type: "extended",
      event_id: ids[events.length] ?? "",
      item_id: item.item_id,
      ends_at: decision.extended_to,
      timestamp: request.now,
      seq: item.seq + events.length + 1,
    });
  }
  return events;
}

/** The item after an accepted decision and its events. */
export function applyDecision(
  item: ItemState,
  decision: Extract<BidDecision, { kind: "accept" }>,
  events: readonly (BidEvent | ExtendedEvent)[],
): ItemState {
  const last = decision.steps.at(-1) as BidStep;
  return {
    ...item,
    current_bid: last.amount,
    highest_bidder_id: decision.leader,
    leader_max: decision.leader_max,
    bid_count: item.bid_count + decision.steps.length,
    seq: item.seq + events.length,
    ends_at: decision.extended_to ?? item.ends_at,
  };
}

/** The outcome a book reports for an accepted decision. */
export function acceptedOutcome(
  item: ItemState,
  request: BidRequest,
  events: (BidEvent | ExtendedEvent)[],
  after: ItemState,
): BidOutcome {
  return {
    kind: "accepted",
    events,
    leading: after.highest_bidder_id === request.user_id,
    previous_bid: item.current_bid,
    current_bid: after.current_bid,
    ends_at: after.ends_at,
  };
}

export const bidRecord = (e: BidEvent): BidRecord => ({
  bid_id: e.bid_id,
  user_id: e.user_id,
  amount: e.amount,
  auto: e.auto,
  timestamp: e.timestamp,
  seq: e.seq,
});

/** The settled event of a pending item; the relisting (on failure) is named in it. */
export function settledEvent(
  item: ItemState,
  result: SettleResult,
  eventId: string,
  now: number,
): SettledEvent {
  return {
    type: "settled",
    event_id: eventId,
    item_id: item.item_id,
    settlement_status: result.settlement_status,
    order_id: settlementOrderId(item.item_id),
    relisted_as: result.settlement_status === "settlement_failed" ? result.relisted_as : null,
    timestamp: now,
    seq: item.seq + 1,
  };
}

/** Whether a listing with `query` shows the item (the cursor aside). */
export const listed = (item: ItemState, query: ListQuery): boolean =>
  (query.status === undefined || viewStatus(item, query.now) === query.status) &&
  (query.ending_before === undefined || item.ends_at < query.ending_before);

/** Stream ids are `<ms>-<seq>` (Redis' format, also used by the in-process stream). */
export function compareEventIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

export const EVENT_ID = /^\d{1,16}-\d{1,16}$/;

export interface ListQuery {
  status?: ItemStatus | undefined;
  /** Epoch ms: only items whose ends_at is before it. */
  ending_before?: number | undefined;
  /** The last item_id of the previous page: items are listed in item_id order. */
  cursor?: string | undefined;
  limit: number;
  /** What "open" means: not yet ended at this time. */
  now: number;
}

export interface Page<T> {
  entries: T[];
  /** Undefined on the last page. */
  next: string | undefined;
}

/** A bid as the history lists it. */
export interface BidRecord {
  bid_id: string;
  user_id: string;
  amount: number;
  auto: boolean;
  timestamp: number;
  seq: number;
}

export interface BidsQuery {
  /** The seq of the last bid of the previous page: bids are listed newest first. */
  before?: number | undefined;
  limit: number;
}

export type SettleResult =
  | { settlement_status: "settled" }
  | { settlement_status: "settlement_failed"; relisted_as: string };

/** The live state of every item and the only writer of the item stream: each change is appended atomically. */
export interface AuctionBook {
  readonly kind: string;
  /** False when the id is taken. The item event is appended with the item, and its close scheduled. */
  create(item: NewItem): Promise<boolean>;
  get(itemId: string): Promise<ItemState | undefined>;
  bid(request: BidRequest): Promise<BidOutcome>;
  /**
   * Closes up to `limit` items whose end has passed, each exactly once across every process: the close
   * (status, closed event, settlement queued) is one atomic step per item. Returns the closes it made.
   */
  closeDue(now: number, limit: number): Promise<ClosedEvent[]>;
  /** The earliest end among open items, if any. */
  nextEnd(): Promise<number | undefined>;
  /** Items whose settlement is due, leased to the caller until now + leaseMs (a dead caller's lease expires). */
  claimSettlements(now: number, leaseMs: number, limit: number): Promise<string[]>;
  /** Next attempt of a queued settlement at `at`. */
  deferSettlement(itemId: string, at: number): Promise<void>;
  /** Records a pending settlement's result once, appending the settled event; undefined if it was not pending. */
  settle(itemId: string, result: SettleResult, now: number): Promise<SettledEvent | undefined>;
  list(query: ListQuery): Promise<Page<ItemState>>;
  bids(itemId: string, query: BidsQuery): Promise<Page<BidRecord>>;
  ready?(): Promise<void>;
}

/** An item's bid history, newest first: the archive (PostgreSQL) when configured, else the book. */
export interface BidHistory {
  readonly kind: string;
  bids(itemId: string, query: BidsQuery): Promise<Page<BidRecord>>;
}

/** A stream entry as a consumer group hands it out: the archiver acks `event_id` after committing. */
export interface BidStream {
  readonly kind: string;
  /** The id of the newest entry, or "0-0": a new reader starts after it. */
  lastId(): Promise<string>;
  /** The id of the oldest entry still held, or undefined when the stream is empty. */
  firstId(): Promise<string | undefined>;
  /** Entries after `afterId` in order, waiting up to `blockMs` for the first one (the tail reader). */
  read(afterId: string, count: number, blockMs: number): Promise<StreamEvent[]>;
  /** Entries after `afterId` in order without blocking, for replays beside the tail reader. */
  range(afterId: string, count: number): Promise<StreamEvent[]>;
  /** Consumer group: new entries for `consumer`, waiting up to `blockMs`. */
  readGroup(consumer: string, count: number, blockMs: number): Promise<StreamEvent[]>;
  /** Consumer group: entries another consumer left unacked for `minIdleMs`, now owned by `consumer`. */
  claimStale(consumer: string, minIdleMs: number, count: number): Promise<StreamEvent[]>;
  ack(eventIds: string[]): Promise<void>;
  /** Drops entries older than both every unacked entry of the group and `keepAfterId`. */
  trimArchived(keepAfterId: string): Promise<void>;
}

export interface ArchiveSummary {
  current_bid: number;
  bid_count: number;
  bid_ids: string[];
  /** The types of the item's other archived events (extended, closed, settled), in order. */
  events: string[];
}

/** The durable record: storing is idempotent by bid_id / event_id and only moves an item forward. */
export interface BidArchive {
  readonly kind: string;
  migrate(): Promise<void>;
  /** One transaction: item rows first, then bids and item events; what is already stored is skipped. */
  store(events: StreamEvent[]): Promise<void>;
  /** For checks and tests: what the archive holds for an item. */
  summary(itemId: string): Promise<ArchiveSummary | undefined>;
  close(): Promise<void>;
  ready?(): Promise<void>;
}
