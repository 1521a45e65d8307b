/**
 * Fans the item stream out to WebSocket subscribers. One reader per process follows the whole stream
 * from the last id it delivered, so a Redis blip resumes with no gap and no duplicate; every
 * subscriber gets its item's snapshot, then exactly the events the snapshot does not contain, in
 * order. A client resuming with `since` instead gets every event of its item after that id, read back
 * from the stream, then the live ones; if the stream no longer holds them, a fresh snapshot marked
 * `recovered: false`. A subscriber whose send buffer overflows is closed (4008) and never slows the
 * others down.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { type AuctionBook, type BidStream, compareEventIds, type ItemUpdate } from "../domain/auctions.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { tracing } from "../observability/tracing.ts";
import type { WsPeer } from "../runtime.ts";
import { sleep } from "../util/time.ts";
import { snapshotFrame, updateFrame } from "./views.ts";

export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_ITEM_GONE = 4404;
export const CLOSE_GOING_AWAY = 1001;

const READ_COUNT = 1000;
/**
 * A resume reads the stream from the client's id: past this many entries (all items') it gives up
 * and sends a snapshot with recovered: false, so one far-behind client cannot stall the others.
 */
export const RESUME_MAX_ENTRIES = 100_000;
const BLOCK_MS = 500;
const MAX_BACKOFF_MS = 2000;

interface Subscriber {
  itemId: string;
  peer: WsPeer;
  /** Undefined while the snapshot or the replay is being read; events are held in `held` meanwhile. */
  live: boolean;
  /**
   * The last event delivered, as the item's seq and as the stream id: an event is new to this
   * subscriber iff it is past both (a snapshot sets the seq, a replay the id).
   */
  afterSeq: number;
  afterId: string;
  held: ItemUpdate[];
}

const CENSUS_MS = 60_000;

export class Broadcaster {
  private readonly byItem = new Map<string, Set<Subscriber>>();
  private readonly byPeer = new Map<WsPeer, Subscriber>();
  private cursor = "0-0";
  private stopping = false;
  private loop: Promise<void> | undefined;
  private census: ReturnType<typeof setInterval> | undefined;
  /** Subscribers wait for the reader's starting point: a bid between their snapshot and it would be lost. */
  private readonly started: Promise<void>;
  private markStarted: () => void = () => {};
  private readonly subscribers: Gauge;
  private readonly sent: Counter;
  private readonly slowClosed: Counter;
  private readonly delay: Histogram;

  constructor(
    private readonly stream: BidStream,
    private readonly book: AuctionBook,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.started = new Promise((resolve) => {
      this.markStarted = resolve;
    });
    this.subscribers = new Gauge({
      name: "ws_subscribers",
      help: "Open auction WebSocket subscriptions",
      registers: [registry],
    });
    this.sent = new Counter({ name: "ws_messages_sent_total", help: "Frames queued", registers: [registry] });
    this.slowClosed = new Counter({
      name: "ws_slow_consumer_closes_total",
      help: "Subscribers closed because their send buffer overflowed",
      registers: [registry],
    });
    this.delay = new Histogram({
      name: "broadcast_delay_seconds",
      help: "From an item event's append to its fan-out by this broadcaster",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  /** Starts after the newest entry: subscribers get older bids through their snapshot. */
  async start(): Promise<void> {
    this.cursor = await this.stream.lastId();
    this.loop = this.run();
    this.markStarted();
    // The dashboard's WebSocket-connections widget reads this field (a CloudWatch metric filter).
    this.census = setInterval(
      () => this.logger.info("websocket census", { ws_connections: this.byPeer.size }),
      CENSUS_MS,
    );
    this.census.unref?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.census);
    await this.loop;
    for (const s of this.byPeer.values()) s.peer.close(CLOSE_GOING_AWAY, "server shutting down");
  }

  /** Registers first, then reads the snapshot or the replay, so no event can fall between the two. */
  async open(itemId: string, peer: WsPeer, since?: string): Promise<void> {
    await this.started;
    const sub: Subscriber = { itemId, peer, live: false, afterSeq: 0, afterId: "0-0", held: [] };
    let set = this.byItem.get(itemId);
    if (!set) {
      set = new Set();
      this.byItem.set(itemId, set);
    }
    set.add(sub);
    this.byPeer.set(peer, sub);
    this.subscribers.inc();
    let item: Awaited<ReturnType<AuctionBook["get"]>>;
    let recovered: false | undefined;
    try {
      if (since !== undefined) {
        const replay = await this.replay(itemId, since);
        if (replay) {
          sub.afterId = since;
          for (const e of replay) if (!this.deliverNew(sub, e)) return;
          this.goLive(sub);
          return;
        }
        recovered = false;
      }
      item = await this.book.get(itemId);
    } catch (err) {
      this.logger.warn("snapshot read failed", { item_id: itemId, ...errorFields(err) });
      peer.close(1011, "snapshot unavailable; reconnect");
      this.close(peer);
      return;
    }
    if (!this.byPeer.has(peer)) return;
    if (!item) {
      peer.close(CLOSE_ITEM_GONE, "item not found");
      this.close(peer);
      return;
    }
    sub.afterSeq = item.seq;
    if (!this.deliver(sub, snapshotFrame(item, Date.now(), recovered))) return;
    this.sent.inc();
    this.goLive(sub);
  }

  /**
   * The item's events after `since`, or undefined when the stream may no longer hold all of them
   * (trimmed, or a Redis that lost its data) or they are too far back to read.
   */
  private async replay(itemId: string, since: string): Promise<ItemUpdate[] | undefined> {
    const holds = async () => {
      const first = await this.stream.firstId();
      return first !== undefined && compareEventIds(first, since) <= 0;
    };
    if (!(await holds()) || compareEventIds(since, await this.stream.lastId()) > 0) return undefined;
    const events: ItemUpdate[] = [];
    let cursor = since;
    for (let read = 0; read < RESUME_MAX_ENTRIES; ) {
      const batch = await this.stream.range(cursor, READ_COUNT);
      for (const e of batch) if (e.type !== "item" && e.item_id === itemId) events.push(e);
      read += batch.length;
      cursor = batch.at(-1)?.event_id ?? cursor;
      if (batch.length < READ_COUNT) {
        // Trimming cuts from the front: if entries up to `since` are still there, none after it went.
        return (await holds()) ? events : undefined;
      }
    }
    return undefined;
  }

  /** Delivers what arrived while the snapshot or replay was read, then hands the subscriber to fanOut. */
  private goLive(sub: Subscriber): void {
    for (const e of sub.held) if (!this.deliverNew(sub, e)) return;
    sub.held = [];
    sub.live = true;
  }

  private deliverNew(sub: Subscriber, e: ItemUpdate, frame?: string): boolean {
    if (e.seq <= sub.afterSeq || compareEventIds(e.event_id, sub.afterId) <= 0) return true;
    sub.afterSeq = e.seq;
    sub.afterId = e.event_id;
    return this.deliver(sub, frame ?? updateFrame(e));
  }

  close(peer: WsPeer): void {
    const sub = this.byPeer.get(peer);
    if (!sub) return;
    this.byPeer.delete(peer);
    const set = this.byItem.get(sub.itemId);
    set?.delete(sub);
    if (set?.size === 0) this.byItem.delete(sub.itemId);
    this.subscribers.dec();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const events = await this.stream.read(this.cursor, READ_COUNT, BLOCK_MS);
        for (const e of events) {
          this.cursor = e.event_id;
          if (e.type !== "item") this.fanOut(e);
        }
        if (failures > 0) this.logger.info("stream reader resumed", { after: this.cursor });
        failures = 0;
      } catch (err) {
        failures++;
        this.logger.warn("stream read failed; resuming from the last delivered id", {
          after: this.cursor,
          attempt: failures,
          ...errorFields(err),
        });
        await sleep(Math.min(MAX_BACKOFF_MS, 50 * 2 ** failures));
      }
    }
  }

  private fanOut(e: ItemUpdate): void {
    const set = this.byItem.get(e.item_id);
    if (!set) return;
    const t = tracing();
    if (t === undefined || e.type !== "bid" || e.traceparent === undefined) {
      this.fanOutTo(set, e);
      return;
    }
    // The bid's trace continues here: its frames' fan-out is a child of the span that placed it.
    t.runSync(
      "fan-out bid",
      {
        kind: "consumer",
        parent: { traceparent: e.traceparent },
        attributes: { "auction.item_id": e.item_id, "ws.subscribers": set.size },
      },
      () => this.fanOutTo(set, e),
    );
  }

  private fanOutTo(set: Set<Subscriber>, e: ItemUpdate): void {
    this.delay.observe(Math.max(0, Date.now() - e.timestamp) / 1000);
    const frame = updateFrame(e);
    let sent = 0;
    for (const sub of set) {
      if (!sub.live) sub.held.push(e);
      else {
        const before = sub.afterId;
        if (this.deliverNew(sub, e, frame) && sub.afterId !== before) sent++;
      }
    }
    this.sent.inc(sent);
  }

  /** Queues one frame; a subscriber that cannot take it is closed rather than skipped (that would be a gap). */
  private deliver(sub: Subscriber, frame: string): boolean {
    if (sub.peer.send(frame)) return true;
    this.slowClosed.inc();
    this.logger.warn("closing slow subscriber", { item_id: sub.itemId, buffered: sub.peer.bufferedAmount() });
    sub.peer.close(CLOSE_SLOW_CONSUMER, "slow consumer: send buffer full");
    this.close(sub.peer);
    return false;
  }
}
