/**
 * Moves the bid stream into the archive, exactly once per bid: read a batch through the consumer
 * group, store it in one transaction (idempotent by bid_id), and only then acknowledge it. A crash
 * before the ack replays the batch, which changes nothing; entries a dead archiver left pending are
 * taken over after ARCHIVER_CLAIM_IDLE_MS; the stream is trimmed only below what is acknowledged.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { BidArchive, BidStream, StreamEvent } from "../domain/auctions.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { tracing } from "../observability/tracing.ts";
import { sleep } from "../util/time.ts";

export interface ArchiverOptions {
  consumer: string;
  batch: number;
  claimIdleMs: number;
  retainMs: number;
}

/** How long one blocking read may wait: also the longest stop() waits for the loop. */
const BLOCK_MS = 500;
const TRIM_EVERY_MS = 1000;
const MAX_BACKOFF_MS = 2000;

export class Archiver {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly archived: Counter;
  private readonly lag: Histogram;

  constructor(
    private readonly stream: BidStream,
    private readonly archive: BidArchive,
    private readonly options: ArchiverOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.archived = new Counter({
      name: "archiver_events_total",
      help: "Stream entries stored in the archive and acknowledged",
      registers: [registry],
    });
    this.lag = new Histogram({
      name: "archiver_lag_seconds",
      help: "From a bid's acceptance to its commit in the archive",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let nextClaim = 0;
    let nextTrim = 0;
    let failures = 0;
    while (!this.stopping) {
      try {
        const now = Date.now();
        let batch: StreamEvent[] = [];
        if (now >= nextClaim) {
          batch = await this.stream.claimStale(
            this.options.consumer,
            this.options.claimIdleMs,
            this.options.batch,
          );
          if (batch.length > 0)
            this.logger.warn("took over unacknowledged entries", { entries: batch.length });
          // Keep claiming while there is a backlog of stale entries; otherwise look again in a while.
          else nextClaim = now + Math.max(100, this.options.claimIdleMs / 2);
        }
        if (batch.length === 0)
          batch = await this.stream.readGroup(this.options.consumer, this.options.batch, BLOCK_MS);
        if (batch.length > 0) await this.commitTraced(batch);
        if (Date.now() >= nextTrim) {
          nextTrim = Date.now() + TRIM_EVERY_MS;
          await this.stream.trimArchived(`${Date.now() - this.options.retainMs}-0`);
        }
        failures = 0;
      } catch (err) {
        failures++;
        this.logger.warn("archiver step failed; retrying", { attempt: failures, ...errorFields(err) });
        await sleep(Math.min(MAX_BACKOFF_MS, 50 * 2 ** failures));
      }
    }
  }

  /** One span per batch, linked to every bid in it (a batch has many parents, so links rather than a parent). */
  private commitTraced(batch: StreamEvent[]): Promise<void> {
    const t = tracing();
    if (t === undefined) return this.commit(batch);
    return t.run(
      "archive bids",
      {
        kind: "consumer",
        attributes: { "messaging.batch.message_count": batch.length },
        links: batch.map((e) =>
          e.type === "bid" && e.traceparent !== undefined ? { traceparent: e.traceparent } : undefined,
        ),
      },
      () => this.commit(batch),
    );
  }

  /** Stores until it succeeds (or the process stops): the entries stay pending, so nothing is lost either way. */
  private async commit(batch: StreamEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.archive.store(batch);
        break;
      } catch (err) {
        if (this.stopping) throw err;
        this.logger.warn("archive write failed; retrying the batch", { attempt, ...errorFields(err) });
        await sleep(Math.min(MAX_BACKOFF_MS, 50 * 2 ** attempt));
      }
    }
    await this.stream.ack(batch.map((e) => e.event_id));
    this.archived.inc(batch.length);
    const now = Date.now();
    let oldest = now;
    for (const e of batch) {
      if (e.type !== "bid") continue;
      this.lag.observe((now - e.timestamp) / 1000);
      oldest = Math.min(oldest, e.timestamp);
    }
    // The dashboard's archive-lag widget reads this field (a CloudWatch metric filter on the log group).
    this.logger.info("archived batch", { bids: batch.length, archive_lag_ms: now - oldest });
  }
}
