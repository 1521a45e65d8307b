/**
 * The embedded default: book, stream and archive in this process's memory, with the same rules and
 * the same stream semantics (ids, consumer group, ack, trim) as the Redis and PostgreSQL adapters.
 * Separate processes cannot share it, so the registry only allows it when bidder, broadcaster and
 * archiver run together.
 */
import {
  type AuctionBook,
  acceptedOutcome,
  applyDecision,
  type BidArchive,
  type BidEvent,
  type BidOutcome,
  type BidRecord,
  type BidRequest,
  type BidStream,
  type BidsQuery,
  bidRecord,
  type ClosedEvent,
  closeOutcome,
  compareEventIds,
  decideBid,
  decisionEvents,
  type ItemState,
  isDue,
  type ListQuery,
  listed,
  type NewItem,
  newItemState,
  type Page,
  type SettledEvent,
  type SettleResult,
  type StreamEvent,
  settledEvent,
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

  async firstId(): Promise<string | undefined> {
    return this.entries[0]?.event_id;
  }

  async range(afterId: string, count: number): Promise<StreamEvent[]> {
    return this.after(afterId, count);
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
  private readonly history = new Map<string, BidRecord[]>();
  /** Open items: what closeDue looks through. */
  private readonly open = new Set<string>();
  /** Item id → when its settlement is next due. */
  private readonly settlements = new Map<string, number>();

  constructor(private readonly stream: MemoryBidStream) {}

  async create(item: NewItem): Promise<boolean> {
    if (this.items.has(item.item_id)) return false;
    this.items.set(item.item_id, newItemState(item));
    this.open.add(item.item_id);
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
    const decision = decideBid(item, request);
    if (decision.kind !== "accept") return decision;
    const ids = decision.steps.map(() => this.stream.nextId(request.now));
    if (decision.extended_to !== undefined) ids.push(this.stream.nextId(request.now));
    const events = decisionEvents(item, decision, request, ids);
    const after = applyDecision(item, decision, events);
    this.items.set(item.item_id, after);
    const history = this.history.get(item.item_id) ?? [];
    this.history.set(item.item_id, history);
    for (const e of events) {
      if (e.type === "bid") history.push(bidRecord(e));
      this.stream.append(e);
    }
    return acceptedOutcome(item, request, events, after);
  }

  async closeDue(now: number, limit: number): Promise<ClosedEvent[]> {
    const closed: ClosedEvent[] = [];
    for (const id of this.open) {
      if (closed.length >= limit) break;
      const item = this.items.get(id) as ItemState;
      if (!isDue(item, now)) continue;
      const outcome = closeOutcome(item);
      const event: ClosedEvent = {
        type: "closed",
        event_id: this.stream.nextId(now),
        item_id: id,
        ...outcome,
        ends_at: item.ends_at,
        timestamp: now,
        seq: item.seq + 1,
      };
      this.items.set(id, {
        ...item,
        status: outcome.status,
        settlement_status: outcome.settlement_status,
        seq: event.seq,
      });
      this.open.delete(id);
      if (outcome.settlement_status === "pending") this.settlements.set(id, now);
      this.stream.append(event);
      closed.push(event);
    }
    return closed;
  }

  async nextEnd(): Promise<number | undefined> {
    let next: number | undefined;
    for (const id of this.open) {
      const end = (this.items.get(id) as ItemState).ends_at;
      if (next === undefined || end < next) next = end;
    }
    return next;
  }

  async claimSettlements(now: number, leaseMs: number, limit: number): Promise<string[]> {
    const due = [...this.settlements].filter(([, at]) => at <= now).slice(0, limit);
    for (const [id] of due) this.settlements.set(id, now + leaseMs);
    return due.map(([id]) => id);
  }

  async deferSettlement(itemId: string, at: number): Promise<void> {
    if (this.settlements.has(itemId)) this.settlements.set(itemId, at);
  }

  async settle(itemId: string, result: SettleResult, now: number): Promise<SettledEvent | undefined> {
    const item = this.items.get(itemId);
    if (item?.settlement_status !== "pending") return undefined;
    const event = settledEvent(item, result, this.stream.nextId(now), now);
    this.items.set(itemId, {
      ...item,
      status: result.settlement_status === "settled" ? "settled" : item.status,
      settlement_status: result.settlement_status,
      relisted_as: event.relisted_as,
      seq: event.seq,
    });
    this.settlements.delete(itemId);
    this.stream.append(event);
    return event;
  }

  async list(query: ListQuery): Promise<Page<ItemState>> {
    const ids = [...this.items.keys()].filter((id) => query.cursor === undefined || id > query.cursor).sort();
    const entries: ItemState[] = [];
    let last: string | undefined;
    for (const id of ids) {
      if (entries.length >= query.limit) break;
      last = id;
      const item = this.items.get(id) as ItemState;
      if (listed(item, query)) entries.push({ ...item });
    }
    return { entries, next: entries.length >= query.limit && last !== ids.at(-1) ? last : undefined };
  }

  async bids(itemId: string, query: BidsQuery): Promise<Page<BidRecord>> {
    const all = this.history.get(itemId) ?? [];
    const older = query.before === undefined ? all : all.filter((b) => b.seq < (query.before as number));
    const entries = older.slice(-query.limit).reverse();
    const next = older.length > query.limit ? String(entries.at(-1)?.seq) : undefined;
    return { entries, next };
  }
}

interface ArchivedItem {
  details: NewItem | undefined;
  current_bid: number;
  bids: Map<string, BidEvent>;
  /** Extensions, the close and the settlement, by event id. */
  events: Map<string, StreamEvent>;
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
        row = { details: undefined, current_bid: 0, bids: new Map(), events: new Map() };
        this.items.set(itemId, row);
      }
      if (e.type === "item") {
        row.details = e.item;
        continue;
      }
      if (e.type !== "bid") {
        row.events.set(e.event_id, e);
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
    return {
      current_bid: row.current_bid,
      bid_count: row.bids.size,
      bid_ids: [...row.bids.keys()],
      events: [...row.events.values()].map((e) => e.type),
    };
  }

  async close(): Promise<void> {}
}
