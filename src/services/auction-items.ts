/**
 * The bidder's use cases: opening an auction, reading one, bidding. The acceptance rule itself is
 * domain/auctions.ts (and the Lua script that mirrors it); here are the defaults, the outcome codes,
 * and the rule that a failing book (Redis down) is DEPENDENCY_UNAVAILABLE, never a crash: the client
 * may retry.
 */
import type { AuctionBook, BidEvent, ItemState, NewItem } from "../domain/auctions.ts";
import { fromCents } from "../domain/money.ts";
import { conflict, DomainError, notFound, unavailable } from "../domain/outcomes.ts";
import { errorFields, type Logger } from "../observability/log.ts";

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
}

export interface BidRequest {
  itemId: string;
  userId: string;
  /** Cents. */
  amount: number;
}

export class AuctionItems {
  constructor(
    private readonly book: AuctionBook,
    private readonly logger: Logger,
  ) {}

  /** CONFLICT (data: item_id) when the id is taken. */
  async create(request: NewItemRequest, log = this.logger): Promise<ItemState> {
    const item: NewItem = {
      item_id: request.item_id ?? crypto.randomUUID(),
      name: request.name,
      description: request.description ?? null,
      start_price: request.start_price,
      min_increment: request.min_increment ?? DEFAULT_MIN_INCREMENT,
      ends_at: request.ends_at,
      created_at: Date.now(),
    };
    if (!(await this.guard(log, () => this.book.create(item)))) {
      throw conflict(`item ${item.item_id} already exists`, { data: { item_id: item.item_id } });
    }
    return { ...item, current_bid: 0, highest_bidder_id: null, bid_count: 0 };
  }

  async get(itemId: string, log = this.logger): Promise<ItemState> {
    const item = await this.guard(log, () => this.book.get(itemId));
    if (!item) throw notFound(`item ${itemId} not found`);
    return item;
  }

  /**
   * The accepted bid's event, or NOT_FOUND, BID_TOO_LOW / AUCTION_CLOSED (data: current_bid and
   * min_next_bid as the contract's decimal numbers), TRY_AGAIN (optimistic retries exhausted).
   */
  async bid({ itemId, userId, amount }: BidRequest, log = this.logger): Promise<BidEvent> {
    const outcome = await this.guard(log, () =>
      this.book.bid({
        item_id: itemId,
        user_id: userId,
        amount,
        bid_id: crypto.randomUUID(),
        now: Date.now(),
      }),
    );
    switch (outcome.kind) {
      case "accepted":
        return outcome.event;
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

  private async guard<T>(log: Logger, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      log.warn("auction book unavailable", errorFields(err));
      throw unavailable(`auction book (${this.book.kind}) unavailable`, 1);
    }
  }
}
