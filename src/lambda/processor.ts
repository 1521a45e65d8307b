/**
 * The processor's semantics for one Lambda invocation. Each record is handled as the ECS processor
 * handles a received message (src/services/processor.ts): the same per-order worker with idempotent
 * effects keyed by the order, the same message format, the same retry delays. What differs is how a
 * result goes back: an SQS batch answers with `batchItemFailures` (only those messages return to the
 * queue), an SNS notification has no batch to answer, so any failure fails the invocation and Lambda's
 * asynchronous retries and on-failure destination take over (docs/lambda.md).
 */
import { parseOrderMessage } from "../domain/orders.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import { tracing } from "../observability/tracing.ts";
import { consumerSpan, type Outcome, retryDelayS } from "../services/processor.ts";
import { Semaphore } from "../util/semaphore.ts";
import { sleep } from "../util/time.ts";
import { type EventRecord, type EventSource, parseEvent } from "./events.ts";
import type { FunctionError, Invocation } from "./runtime-api.ts";

/** The seam this module needs from the processor: one order's effects, idempotent by order id. */
export interface OrderWork {
  process(orderId: string): Promise<Outcome>;
}

/** Sets a failed SQS message's retry time; without it the message returns after the queue's visibility timeout. */
export interface RetryScheduler {
  changeVisibility(receiptHandle: string, visibilityS: number): Promise<void>;
}

export interface LambdaProcessorOptions {
  /** Orders in flight at once in this sandbox (PROCESSOR_CONCURRENCY). */
  concurrency: number;
  /** An order starts only if at least this much time is left before the deadline (LAMBDA_ORDER_RESERVE_MS). */
  orderReserveMs: number;
  /** Cap of the retry delay, as for the ECS processor (QUEUE_VISIBILITY_TIMEOUT_S). */
  visibilityS: number;
  now?: () => number;
}

/** Besides the worker's outcomes: not an order message, a transient failure, not started, still running. */
export type RecordOutcome = Outcome | "malformed" | "retry" | "deferred" | "unfinished";

const DONE: ReadonlySet<RecordOutcome> = new Set<RecordOutcome>([
  "completed",
  "failed",
  "duplicate",
  "orphan",
]);

export interface InvocationResult {
  reply: { response: unknown } | { error: FunctionError };
  source: EventSource | undefined;
  outcomes: RecordOutcome[];
}

/**
 * The reply goes out this long before the deadline whatever is still running: past the deadline Lambda
 * drops the reply and returns the whole batch, completed orders included.
 */
export const REPLY_MARGIN_MS = 500;
/** Retry times are an optimisation (the queue returns a message anyway), so they may delay the reply only this long. */
const RETRY_SCHEDULE_BOUND_MS = 250;
const RETRY_SCHEDULE_BOUND_STOPPING_MS = 50;

type State = "waiting" | "running" | RecordOutcome;

export class LambdaProcessor {
  /** Shared across invocations: orders still running after a reply keep their slot until they end. */
  private readonly slots: Semaphore;
  private readonly now: () => number;

  constructor(
    private readonly worker: OrderWork,
    private readonly options: LambdaProcessorOptions,
    private readonly logger: Logger,
    private readonly retries: RetryScheduler | undefined,
  ) {
    this.slots = new Semaphore(options.concurrency);
    this.now = options.now ?? Date.now;
  }

  /** Handles one invocation; `stop` (SIGTERM) makes it reply at once with what is done. */
  async handle(invocation: Invocation, stop: AbortSignal): Promise<InvocationResult> {
    const started = this.now();
    const event = parseEvent(invocation.payload);
    if (event.kind === "unknown") {
      this.logger.error("invocation is not an SQS or SNS event", {
        request_id: invocation.requestId,
        reason: event.reason,
        payload: invocation.payload.slice(0, 200),
      });
      return {
        reply: { error: { errorType: "Shop.InvalidEvent", errorMessage: event.reason } },
        source: undefined,
        outcomes: [],
      };
    }

    const cutoff = new AbortController();
    const cut = () => cutoff.abort();
    const timer = setTimeout(cut, Math.max(0, invocation.deadlineMs - REPLY_MARGIN_MS - started));
    stop.addEventListener("abort", cut, { once: true });
    if (stop.aborted) cut();
    const states: State[] = event.records.map(() => "waiting");
    const work = event.records.map((record, i) =>
      this.record(record, invocation.deadlineMs, cutoff.signal, (s) => {
        states[i] = s;
      }),
    );
    const cutShort = new Promise<void>((resolve) => cutoff.signal.addEventListener("abort", () => resolve()));
    await Promise.race([Promise.all(work), cutShort]);
    clearTimeout(timer);
    stop.removeEventListener("abort", cut);

    // What is known at reply time; a record still running goes on in the background and may finish later.
    const outcomes = states.map(
      (s): RecordOutcome => (s === "waiting" ? "deferred" : s === "running" ? "unfinished" : s),
    );
    const failed = event.records.filter((_, i) => !DONE.has(outcomes[i] as RecordOutcome));
    if (event.kind === "sqs") await this.scheduleRetries(event.records, outcomes, stop.aborted);
    this.summarise(invocation, event.kind, outcomes, started);
    return { reply: this.reply(event.kind, failed, outcomes), source: event.kind, outcomes };
  }

  private async record(
    record: EventRecord,
    deadlineMs: number,
    cutoff: AbortSignal,
    set: (s: State) => void,
  ): Promise<void> {
    const parsed = parseOrderMessage(record.body);
    if (!parsed) {
      this.logger.error("malformed order message; leaving it for the dead-letter queue", {
        message_id: record.id,
        receive_count: record.receiveCount,
        body: record.body.slice(0, 200),
      });
      set("malformed");
      return;
    }
    if (!(await this.slots.acquire(Number.POSITIVE_INFINITY, cutoff))) return;
    try {
      // Too close to the deadline to finish: not started, so it returns to the queue untouched.
      if (cutoff.aborted || deadlineMs - this.now() < this.options.orderReserveMs) {
        set("deferred");
        return;
      }
      set("running");
      const t = tracing();
      const outcome = await (t === undefined
        ? this.worker.process(parsed.order_id)
        : t.run("process orders", consumerSpan(record.id, record.receiveCount, record.trace), () =>
            this.worker.process(parsed.order_id),
          ));
      if (outcome === "orphan")
        this.logger.warn("message for an unknown order deleted", { order_id: parsed.order_id });
      set(outcome);
    } catch (err) {
      this.logger.warn("order failed transiently; retrying", {
        order_id: parsed.order_id,
        message_id: record.id,
        receive_count: record.receiveCount,
        ...errorFields(err),
      });
      set("retry");
    } finally {
      this.slots.release();
    }
  }

  /**
   * The ECS processor's retry times: 1, 2, 4 … s for a failure, at once for a message never started.
   * Lambda's event source mapping leaves a failed message hidden for the queue's whole visibility timeout.
   */
  private async scheduleRetries(records: EventRecord[], outcomes: RecordOutcome[], stopping: boolean) {
    const retries = this.retries;
    if (!retries) return;
    const changes = records.flatMap((r, i) => {
      const outcome = outcomes[i] as RecordOutcome;
      if (DONE.has(outcome) || r.receiptHandle === undefined) return [];
      const delay = outcome === "deferred" ? 0 : retryDelayS(r.receiveCount, this.options.visibilityS);
      return [
        retries.changeVisibility(r.receiptHandle, delay).catch((err) => {
          this.logger.warn("could not set the retry time", { message_id: r.id, ...errorFields(err) });
        }),
      ];
    });
    if (changes.length === 0) return;
    await Promise.race([
      Promise.all(changes),
      sleep(stopping ? RETRY_SCHEDULE_BOUND_STOPPING_MS : RETRY_SCHEDULE_BOUND_MS),
    ]);
  }

  private reply(
    source: EventSource,
    failed: EventRecord[],
    outcomes: RecordOutcome[],
  ): InvocationResult["reply"] {
    if (source === "sqs") {
      const ids = [...new Set(failed.map((r) => r.id))];
      return { response: { batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) } };
    }
    if (failed.length === 0) return { response: {} };
    const counts = countOf(outcomes.filter((o) => !DONE.has(o)));
    return {
      error: {
        errorType: "Shop.OrdersNotProcessed",
        errorMessage: `${failed.length} of ${outcomes.length} messages not processed (${Object.entries(counts)
          .map(([k, n]) => `${k}: ${n}`)
          .join(", ")}); Lambda retries the event`,
      },
    };
  }

  private summarise(invocation: Invocation, source: EventSource, outcomes: RecordOutcome[], started: number) {
    this.logger.info("invocation", {
      request_id: invocation.requestId,
      source,
      records: outcomes.length,
      ...countOf(outcomes),
      duration_ms: this.now() - started,
      left_ms: invocation.deadlineMs - this.now(),
    });
  }
}

function countOf(outcomes: RecordOutcome[]): Partial<Record<RecordOutcome, number>> {
  const counts: Partial<Record<RecordOutcome, number>> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}
