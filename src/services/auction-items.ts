/**
 * The bidder's use cases: opening an auction, reading and listing items, bidding, the bid history.
 * The rules themselves are domain/auctions.ts (and the Lua scripts that mirror them); here are the
 * defaults, the outcome codes, and the rule that a failing book (Redis down) is DEPENDENCY_UNAVAILABLE,
 * never a crash: the client may retry.
 */
import {
  type AuctionBook,
  type BidEvent,
  type BidHistory,
  type BidRecord,
  type BidsQuery,
  DEFAULT_EXTENSION_CAP_MS,
  type ExtendedEvent,
  type ItemState,
  type ItemStatus,
  type NewItem,
  newItemState,
  type Page,
} from "../domain/auctions.ts";
import { fromCents } from "../domain/money.ts";
import { conflict, DomainError, invalidInput, notFound, unavailable } from "../domain/outcomes.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { tracing } from "../observability/tracing.ts";

/** One cent: the smallest step a bid can rise by. */
export const DEFAULT_MIN_INCREMENT = 1;

export interface NewItemRequest {
  item_id?: string | undefined;
  name: string;
  description?: string | undefined;
  /** Cents. */
  start_price: number;
  min_increment?: number | undefined;
  /** Epoch milliseconds. */
  ends_at: number;
  extend_window_s?: number | undefined;
  /** Epoch milliseconds. */
  max_end_at?: number | undefined;
  /** Cents. */
  reserve_price?: number | undefined;
}

export interface BidRequest {
  itemId: string;
  userId: string;
  /** Cents. */
  amount: number;
  /** Cents; the hidden ceiling for automatic bids. */
  maxAmount?: number | undefined;
}

export interface BidPlaced {
  /** The bidder's own bid (no stream event has it when the bidder's maximum tied the leader's). */
  bid_id: string;
  /** Every event the bid appended (automatic answers and an extension included). */
  events: (BidEvent | ExtendedEvent)[];
  leading: boolean;
  /** Where the bidder's bid stands (cents). */
  amount: number;
  previous_bid: number;
  current_bid: number;
  ends_at: number;
}

export interface ListRequest {
  status?: ItemStatus | undefined;
  ending_before?: number | undefined;
  cursor?: string | undefined;
  limit: number;
}

export class AuctionItems {
  constructor(
    private readonly book: AuctionBook,
    private readonly logger: Logger,
  ) {}

  /** CONFLICT (data: item_id) when the id is taken; INVALID_INPUT when max_end_at is before ends_at. */
  async create(request: NewItemRequest, log = this.logger): Promise<ItemState> {
    const window = request.extend_window_s ?? 0;
    const cap =
      request.max_end_at ?? (window > 0 ? request.ends_at + DEFAULT_EXTENSION_CAP_MS : request.ends_at);
    if (cap < request.ends_at) {
      throw invalidInput("max_end_at must not be before ends_at", "max_end_at: must be at or after ends_at");
    }
    const item: NewItem = {
      item_id: request.item_id ?? crypto.randomUUID(),
      name: request.name,
      description: request.description ?? null,
      start_price: request.start_price,
      min_increment: request.min_increment ?? DEFAULT_MIN_INCREMENT,
      ends_at: request.ends_at,
      created_at: Date.now(),
      extend_window_s: window,
      max_end_at: cap,
      reserve_price: request.reserve_price ?? 0,
      relisted_from: null,
    };
    if (!(await this.guard(log, () => this.book.create(item)))) {
      throw conflict(`item ${item.item_id} already exists`, { data: { item_id: item.item_id } });
    }
    return newItemState(item);
  }

  async get(itemId: string, log = this.logger): Promise<ItemState> {
    const item = await this.guard(log, () => this.book.get(itemId));
    if (!item) throw notFound(`item ${itemId} not found`);
    return item;
  }

  list(request: ListRequest, log = this.logger): Promise<Page<ItemState>> {
    return this.guard(log, () => this.book.list({ ...request, now: Date.now() }));
  }

  /**
   * The accepted bid, or NOT_FOUND, BID_TOO_LOW / AUCTION_CLOSED (data: current_bid and min_next_bid
   * as the contract's decimal numbers), TRY_AGAIN (optimistic retries exhausted).
   */
  async bid({ itemId, userId, amount, maxAmount }: BidRequest, log = this.logger): Promise<BidPlaced> {
    if (maxAmount !== undefined && maxAmount < amount) {
      throw invalidInput("max_amount must be at least amount", "max_amount: must be at least amount");
    }
    const bidId = crypto.randomUUID();
    const place = (traceparent?: string) =>
      this.guard(log, () =>
        this.book.bid({
          item_id: itemId,
          user_id: userId,
          amount,
          max_amount: maxAmount,
          bid_id: bidId,
          proxy_bid_id: crypto.randomUUID(),
          now: Date.now(),
          traceparent,
        }),
      );
    const t = tracing();
    // The bid span's context rides in the stream entries, so the archiver and the broadcaster connect to it.
    const outcome = await (t === undefined
      ? place()
      : t.run("bid", { attributes: { "auction.item_id": itemId, "auction.bid_id": bidId } }, () =>
          place(t.inject({}).traceparent),
        ));
    switch (outcome.kind) {
      case "accepted": {
        const bids = outcome.events.filter((e): e is BidEvent => e.type === "bid");
        const own = bids.find((e) => e.bid_id === bidId);
        return {
          bid_id: bidId,
          events: outcome.events,
          leading: outcome.leading,
          // A maximum that tied the leader's has no step of its own: it stands at the price it tied.
          amount: own?.amount ?? outcome.current_bid,
          previous_bid: outcome.previous_bid,
          current_bid: outcome.current_bid,
          ends_at: outcome.ends_at,
        };
      }
      case "not_found":
        throw notFound(`item ${itemId} not found`);
      case "too_low":
      case "closed": {
        const data = {
          current_bid: fromCents(outcome.current_bid),
          min_next_bid: fromCents(outcome.min_next_bid),
        };
        const details = `current bid ${data.current_bid}, minimum next bid ${data.min_next_bid}`;
        throw outcome.kind === "closed"
          ? new DomainError("AUCTION_CLOSED", `the auction for ${itemId} has ended`, { details, data })
          : new DomainError("BID_TOO_LOW", `the bid must be at least ${data.min_next_bid}`, {
              details,
              data,
            });
      }
      case "contended":
        throw new DomainError("TRY_AGAIN", "too many concurrent bids on this item; retry", {
          retryAfterS: 1,
        });
    }
  }

  private guard<T>(log: Logger, run: () => Promise<T>): Promise<T> {
    return guarded(`auction book (${this.book.kind})`, log, run);
  }
}

/** An item's bid history: the archive when it is configured (it outlives the book), else the book. */
export class AuctionHistory {
  constructor(
    private readonly items: AuctionItems,
    private readonly source: BidHistory,
    private readonly logger: Logger,
  ) {}

  /** Newest first; NOT_FOUND for an unknown item. */
  async bids(itemId: string, page: BidsQuery, log = this.logger): Promise<Page<BidRecord>> {
    await this.items.get(itemId, log);
    return guarded(`bid history (${this.source.kind})`, log, () => this.source.bids(itemId, page));
  }
}

async function guarded<T>(store: string, log: Logger, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof DomainError) throw err;
    log.warn(`${store} unavailable`, errorFields(err));
    throw unavailable(`${store} unavailable`, 1);
  }
}
