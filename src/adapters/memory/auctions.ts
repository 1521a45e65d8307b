/**
 * The embedded default: book, stream and archive in this process's memory, with the same rules and
 * the same stream semantics (ids, consumer group, ack, trim) as the Redis and PostgreSQL adapters.
 * Separate processes cannot share it, so the registry only allows it when bidder, broadcaster and
 * archiver run together.
 */
import {
  type AuctionBook,
  applyBid,
  type BidArchive,
  type BidEvent,
  type BidOutcome,
  type BidRequest,
  type BidStream,
  compareEventIds,
  decideBid,
  type ItemState,
  type NewItem,
  type StreamEvent,
} from "../../domain/auctions.ts";

interface Pending {
  consumer: string;
  deliveredAt: number;
}

export class MemoryBidStream implements BidStream {
  readonly kind = "memory";
  private entries: StreamEvent[] = [];
  /** Index in `entries` of the first entry the group has not handed out yet. */
  private groupNext = 0;
  private readonly pending = new Map<string, Pending>();
  private waiters: (() => void)[] = [];
  private lastMs = 0;
  private lastSeq = 0;

  /** Same shape as Redis' auto ids: `<ms>-<seq>`, strictly increasing. */
  nextId(now: number): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else this.lastSeq++;
    return `${this.lastMs}-${this.lastSeq}`;
  }

  append(event: StreamEvent): void {
    this.entries.push(event);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  async lastId(): Promise<string> {
    return this.entries.at(-1)?.event_id ?? "0-0";
  }

  async read(afterId: string, count: number, blockMs: number): Promise<StreamEvent[]> {
    const found = this.after(afterId, count);
    if (found.length > 0 || blockMs <= 0) return found;
    await this.wait(blockMs);
    return this.after(afterId, count);
  }

  async readGroup(consumer: string, count: number, blockMs: number): Promise<StreamEvent[]> {
    if (this.groupNext >= this.entries.length && blockMs > 0) await this.wait(blockMs);
    const batch = this.entries.slice(this.groupNext, this.groupNext + count);
    this.groupNext += batch.length;
    const now = Date.now();
    for (const e of batch) this.pending.set(e.event_id, { consumer, deliveredAt: now });
    return batch;
  }

  async claimStale(consumer: string, minIdleMs: number, count: number): Promise<StreamEvent[]> {
    const now = Date.now();
    const claimed: StreamEvent[] = [];
    for (const e of this.entries) {
      if (claimed.length >= count) break;
      const p = this.pending.get(e.event_id);
      if (p && now - p.deliveredAt >= minIdleMs) {
        this.pending.set(e.event_id, { consumer, deliveredAt: now });
        claimed.push(e);
      }
    }
    return claimed;
  }

  async ack(eventIds: string[]): Promise<void> {
    for (const id of eventIds) this.pending.delete(id);
  }

  async trimArchived(keepAfterId: string): Promise<void> {
    let cut = Math.min(this.groupNext, this.entries.length);
    for (let i = 0; i < cut; i++) {
      const e = this.entries[i];
      if (!e || this.pending.has(e.event_id) || compareEventIds(e.event_id, keepAfterId) > 0) {
        cut = i;
        break;
      }
    }
    if (cut === 0) return;
    this.entries = this.entries.slice(cut);
    this.groupNext -= cut;
  }

  /** Entries still held, for tests of trimming. */
  size(): number {
    return this.entries.length;
  }

  private after(afterId: string, count: number): StreamEvent[] {
    // Readers are almost always at the tail, so search backwards from the end.
    let i = this.entries.length;
    while (i > 0 && compareEventIds((this.entries[i - 1] as StreamEvent).event_id, afterId) > 0) i--;
    return this.entries.slice(i, i + count);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.waiters.push(wake);
    });
  }
}

export class MemoryAuctionBook implements AuctionBook {
  readonly kind = "memory";
  private readonly items = new Map<string, ItemState>();

  constructor(private readonly stream: MemoryBidStream) {}

  async create(item: NewItem): Promise<boolean> {
    if (this.items.has(item.item_id)) return false;
    this.items.set(item.item_id, {
      ...item,
      current_bid: 0,
      highest_bidder_id: null,
      bid_count: 0,
    });
    this.stream.append({ type: "item", event_id: this.stream.nextId(item.created_at), item });
    return true;
  }

  async get(itemId: string): Promise<ItemState | undefined> {
    const item = this.items.get(itemId);
    return item && { ...item };
  }

  async bid(request: BidRequest): Promise<BidOutcome> {
    const item = this.items.get(request.item_id);
    if (!item) return { kind: "not_found" };
    const decision = decideBid(item, request.amount, request.now);
    if (decision.kind !== "accept") return decision;
    const event: BidEvent = {
      type: "bid",
      event_id: this.stream.nextId(request.now),
      item_id: request.item_id,
      bid_id: request.bid_id,
      user_id: request.user_id,
      amount: request.amount,
      previous_bid: item.current_bid,
      timestamp: request.now,
      seq: item.bid_count + 1,
    };
    this.items.set(item.item_id, applyBid(item, event));
    this.stream.append(event);
    return { kind: "accepted", event };
  }
}

interface ArchivedItem {
  details: NewItem | undefined;
  current_bid: number;
  bids: Map<string, BidEvent>;
}

export class MemoryBidArchive implements BidArchive {
  readonly kind = "memory";
  private readonly items = new Map<string, ArchivedItem>();
  /** Every bid id stored, across items: the idempotency key. */
  private readonly bidIds = new Set<string>();

  async migrate(): Promise<void> {}

  async store(events: StreamEvent[]): Promise<void> {
    for (const e of events) {
      const itemId = e.type === "item" ? e.item.item_id : e.item_id;
      let row = this.items.get(itemId);
      if (!row) {
        row = { details: undefined, current_bid: 0, bids: new Map() };
        this.items.set(itemId, row);
      }
      if (e.type === "item") {
        row.details = e.item;
        continue;
      }
      if (this.bidIds.has(e.bid_id)) continue;
      this.bidIds.add(e.bid_id);
      row.bids.set(e.bid_id, e);
      row.current_bid = Math.max(row.current_bid, e.amount);
    }
  }

  async summary(itemId: string) {
    const row = this.items.get(itemId);
    if (!row) return undefined;
    return { current_bid: row.current_bid, bid_count: row.bids.size, bid_ids: [...row.bids.keys()] };
  }

  async close(): Promise<void> {}
}
