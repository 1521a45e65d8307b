import { Counter, type Registry } from "prom-client";
import type { MessageAttributes, OrderPublisher, QueueConsumer, QueueMessage } from "../../domain/queue.ts";
import { traceCarrier } from "../../observability/tracing.ts";

/** Counts what the in-process queue dead-letters; pass it as the queue's onDeadLetter. */
export function deadLetterCounter(registry: Registry): () => void {
  const counter = new Counter({
    name: "queue_dead_letters_total",
    help: "Messages the in-process queue moved to its dead-letter list after QUEUE_MAX_RECEIVES receives",
    registers: [registry],
  });
  return () => counter.inc();
}

interface Stored {
  id: string;
  body: string;
  receiveCount: number;
  trace: Record<string, string> | undefined;
  /** The handle of the latest receive; older handles no longer act on the message. */
  handle?: string;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The queue `--role all` uses without AWS configuration: the same semantics as SQS with a redrive
 * policy (at-least-once, visibility timeout, redelivery, dead letter once received more than
 * `maxReceives` times), so the processor and its tests run the same code on both.
 */
export class MemoryQueue implements OrderPublisher, QueueConsumer {
  private ready: Stored[] = [];
  private head = 0;
  private readonly inFlight = new Map<string, Stored>();
  private readonly waiters = new Set<() => void>();
  readonly deadLetters: { id: string; body: string; receiveCount: number }[] = [];

  constructor(
    private readonly maxReceives: number,
    private readonly onDeadLetter: (message: { id: string; receiveCount: number }) => void = () => {},
  ) {}

  async publish(body: string, attributes?: MessageAttributes): Promise<string> {
    const id = crypto.randomUUID();
    // In-process, the message carries the trace context as SQS's attributes would (none when tracing is off).
    const trace = attributes?.traceparent === undefined ? traceCarrier() : { ...attributes };
    this.enqueue({ id, body, receiveCount: 0, trace });
    return id;
  }

  /** Messages waiting to be received and messages received but not yet deleted. */
  depth(): { visible: number; inFlight: number } {
    return { visible: this.ready.length - this.head, inFlight: this.inFlight.size };
  }

  async receive(
    max: number,
    waitS: number,
    visibilityS: number,
    signal: AbortSignal,
  ): Promise<QueueMessage[]> {
    const deadline = Date.now() + waitS * 1000;
    for (;;) {
      const out = this.take(max, visibilityS);
      if (out.length > 0 || signal.aborted) return out;
      const left = deadline - Date.now();
      if (left <= 0) return out;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        signal.addEventListener("abort", done);
        this.waiters.add(done);
      });
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    const m = this.inFlight.get(receiptHandle);
    if (!m) return;
    clearTimeout(m.timer);
    this.inFlight.delete(receiptHandle);
  }

  async changeVisibility(receiptHandle: string, visibilityS: number): Promise<void> {
    const m = this.inFlight.get(receiptHandle);
    if (!m) return;
    clearTimeout(m.timer);
    if (visibilityS <= 0) this.expire(receiptHandle);
    else m.timer = setTimeout(() => this.expire(receiptHandle), visibilityS * 1000);
  }

  private take(max: number, visibilityS: number): QueueMessage[] {
    const out: QueueMessage[] = [];
    while (out.length < max && this.head < this.ready.length) {
      const m = this.ready[this.head] as Stored;
      this.ready[this.head++] = undefined as unknown as Stored;
      m.receiveCount++;
      if (m.receiveCount > this.maxReceives) {
        this.deadLetters.push({ id: m.id, body: m.body, receiveCount: m.receiveCount - 1 });
        this.onDeadLetter({ id: m.id, receiveCount: m.receiveCount - 1 });
        continue;
      }
      const handle = crypto.randomUUID();
      m.handle = handle;
      m.timer = setTimeout(() => this.expire(handle), visibilityS * 1000);
      this.inFlight.set(handle, m);
      out.push({
        id: m.id,
        body: m.body,
        receiptHandle: handle,
        receiveCount: m.receiveCount,
        trace: m.trace,
      });
    }
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private expire(handle: string): void {
    const m = this.inFlight.get(handle);
    if (!m) return;
    this.inFlight.delete(handle);
    m.handle = undefined;
    this.enqueue(m);
  }

  private enqueue(m: Stored): void {
    this.ready.push(m);
    for (const wake of this.waiters) {
      wake();
      break;
    }
  }
}
