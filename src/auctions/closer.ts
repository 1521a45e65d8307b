/**
 * Closes auctions at their end and drives their settlement. It runs in every bidder process: the book
 * closes each due item in one atomic step (claimed from the sorted set of end times), so several
 * closers never close an item twice, and one killed mid-batch leaves the rest due for the next pass.
 * Settlements are leased (AuctionBook.claimSettlements) so a dead closer's are taken over.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { AuctionBook } from "../domain/auctions.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { AuctionSettlement } from "../services/auction-settlement.ts";
import { abortableSleep } from "../util/time.ts";

export interface CloserOptions {
  /** Items closed per atomic step. */
  batch: number;
  /** The longest the closer sleeps between looks: items created elsewhere may end sooner than it knows. */
  pollMs: number;
  /** How long a claimed settlement is the claimer's before another closer may take it. */
  leaseMs: number;
}

/** Settlements worked on at once by one closer. */
const SETTLE_CONCURRENCY = 8;
const SETTLE_BATCH = 64;
const MAX_BACKOFF_MS = 2000;

export class AuctionCloser {
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly closes: Counter<"status">;
  private readonly settlements: Counter<"step">;
  private readonly delay: Histogram;

  constructor(
    private readonly book: AuctionBook,
    private readonly settlement: AuctionSettlement,
    private readonly options: CloserOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.closes = new Counter({
      name: "auction_closes_total",
      help: "Auctions closed by this process, by outcome (closed: sold, unsold)",
      labelNames: ["status"] as const,
      registers: [registry],
    });
    this.settlements = new Counter({
      name: "auction_settlement_steps_total",
      help: "Settlement steps by result: settled, settlement_failed, waiting, retry, skipped",
      labelNames: ["step"] as const,
      registers: [registry],
    });
    this.delay = new Histogram({
      name: "auction_close_delay_seconds",
      help: "From an auction's ends_at to its close",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    });
  }

  start(): void {
    this.loops = [this.repeat("close", () => this.closeDue()), this.repeat("settle", () => this.settleDue())];
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }

  /** Closes every due item; returns how long to sleep before looking again. */
  private async closeDue(): Promise<number> {
    for (;;) {
      const closed = await this.book.closeDue(Date.now(), this.options.batch);
      for (const c of closed) {
        this.closes.inc({ status: c.status });
        this.delay.observe(Math.max(0, c.timestamp - c.ends_at) / 1000);
      }
      if (closed.length < this.options.batch || this.abort.signal.aborted) break;
    }
    const next = await this.book.nextEnd();
    // At least a few ms: an item an optimistic close lost to a bid is due again at once.
    return next === undefined
      ? this.options.pollMs
      : Math.min(this.options.pollMs, Math.max(5, next - Date.now()));
  }

  private async settleDue(): Promise<number> {
    const due = await this.book.claimSettlements(Date.now(), this.options.leaseMs, SETTLE_BATCH);
    let next = 0;
    const worker = async () => {
      while (next < due.length)
        this.settlements.inc({ step: await this.settlement.step(due[next++] as string) });
    };
    await Promise.all(Array.from({ length: Math.min(SETTLE_CONCURRENCY, due.length) }, worker));
    return due.length === SETTLE_BATCH ? 0 : this.options.pollMs;
  }

  private async repeat(name: string, step: () => Promise<number>): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let wait: number;
      try {
        wait = await step();
        failures = 0;
      } catch (err) {
        failures++;
        this.logger.warn(`auction ${name} step failed; retrying`, { attempt: failures, ...errorFields(err) });
        wait = Math.min(MAX_BACKOFF_MS, 50 * 2 ** failures);
      }
      await abortableSleep(wait, signal).catch(() => {});
    }
  }
}
