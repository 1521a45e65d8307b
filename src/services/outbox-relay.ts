/**
 * The outbox relay: publishes what the commerce transactions wrote to the outbox, then removes it.
 * Every process that accepts orders runs it (the api: async orders and checkout; the bidder: auction
 * settlements through OrderService.acceptSettlement), because deps.ts makes the `orders` module need it.
 *
 * Records this process committed are handed over at once and published within milliseconds. A sweep
 * every `sweepMs` publishes records older than that: those left by a process that died, a publish that
 * failed, or a commit whose answer was lost to a timeout; a record with `not_before` (a sync order's
 * takeover) not before then. At-least-once: a record published and not yet
 * removed may be published again (by a sweep, or by another process's relay); the processor's per-order
 * idempotence makes a second message harmless.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { OutboxRecord, OutboxStore } from "../domain/outbox.ts";
import type { OrderPublisher } from "../domain/queue.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import { sleep } from "../util/time.ts";

export interface RelayOptions {
  /** How often the outbox is swept, and how old a record must be for a sweep to take it (OUTBOX_SWEEP_MS). */
  sweepMs: number;
  /** Publishes in flight at once. */
  concurrency: number;
  /** Records read per sweep. */
  batch: number;
  /** On stop, how long handed-over records may take to publish. */
  drainMs: number;
}

export interface RelayMetrics {
  lag: Gauge;
  published: Counter;
  failures: Counter;
}

export function createRelayMetrics(registry: Registry): RelayMetrics {
  return {
    lag: new Gauge({
      name: "outbox_relay_lag_seconds",
      help: "Age of the oldest outbox record not yet published, as of the last sweep",
      registers: [registry],
    }),
    published: new Counter({
      name: "outbox_published_total",
      help: "Outbox records published and removed",
      registers: [registry],
    }),
    failures: new Counter({
      name: "outbox_publish_failures_total",
      help: "Publishes (or removals) of outbox records that failed; the next sweep retries them",
      registers: [registry],
    }),
  };
}

export class OutboxRelay {
  private readonly waiting = new Map<string, OutboxRecord>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lagS = 0;
  private lastSweep: { at: string; pending: number } | { at: string; error: string } | undefined;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly publisher: OrderPublisher,
    private readonly options: RelayOptions,
    private readonly metrics: RelayMetrics,
    private readonly logger: Logger,
  ) {}

  /** A record this process has just committed: published now instead of at the next sweep. */
  handOver(record: OutboxRecord): void {
    if (this.stopped) return;
    this.waiting.set(record.id, record);
    this.pump();
  }

  start(): void {
    this.loop = this.sweepLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    const drained = Promise.all(this.inFlight.values());
    await Promise.race([drained, sleep(this.options.drainMs)]);
  }

  /** For /ready: what waits and how late it is. */
  status() {
    return {
      waiting: this.waiting.size + this.inFlight.size,
      lag_s: this.lagS,
      ...(this.lastSweep ? { last_sweep: this.lastSweep } : {}),
    };
  }

  /** Sweeps once now; resolves when what it found has been tried. */
  async sweep(): Promise<void> {
    let records: OutboxRecord[];
    try {
      records = await this.outbox.pending(this.options.batch);
    } catch (err) {
      this.lastSweep = { at: new Date().toISOString(), error: String((err as Error).message ?? err) };
      this.logger.warn("outbox sweep failed", errorFields(err));
      return;
    }
    const now = Date.now();
    // A record is late from when it could be published: a takeover record waits for its not_before.
    const since = (r: OutboxRecord) => Math.max(r.created_at, r.not_before ?? 0);
    const oldest = records.reduce((min, r) => Math.min(min, since(r)), now);
    this.lagS = Math.max(0, now - oldest) / 1000;
    this.metrics.lag.set(this.lagS);
    this.lastSweep = { at: new Date(now).toISOString(), pending: records.length };
    for (const r of records) {
      const due = now - r.created_at >= this.options.sweepMs && now >= (r.not_before ?? 0);
      if (due && !this.inFlight.has(r.id)) this.waiting.set(r.id, r);
    }
    this.pump();
    await Promise.all(this.inFlight.values());
  }

  private async sweepLoop(): Promise<void> {
    while (!this.stopped) {
      await this.sweep();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.sweepMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Starts publishes for waiting records while fewer than `concurrency` are in flight. */
  private pump(): void {
    for (const [id, record] of this.waiting) {
      if (this.inFlight.size >= this.options.concurrency) return;
      this.waiting.delete(id);
      if (this.inFlight.has(id)) continue;
      const done = this.publish(record).finally(() => {
        this.inFlight.delete(id);
        this.pump();
      });
      this.inFlight.set(id, done);
    }
  }

  private async publish(record: OutboxRecord): Promise<void> {
    try {
      await this.publisher.publish(record.body, record.attributes);
      await this.outbox.markSent(record.id);
      this.metrics.published.inc();
    } catch (err) {
      // Left in the outbox: the next sweep takes it again.
      this.metrics.failures.inc();
      this.logger.warn("publishing an outbox record failed; the next sweep retries it", {
        outbox_id: record.id,
        ...errorFields(err),
      });
    }
  }
}
