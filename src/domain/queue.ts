/**
 * The order queue as the processor sees it: SQS semantics (at-least-once, visibility timeout,
 * redelivery, dead letters after N receives). SQS and the in-process queue both implement it.
 */

export interface QueueMessage {
  id: string;
  body: string;
  receiptHandle: string;
  /** 1 on first delivery. */
  receiveCount: number;
  /** The publisher's W3C trace context (message attributes `traceparent`, `tracestate`), when it sent one. */
  trace?: Record<string, string> | undefined;
}

/** Message attributes: string names to string values (SNS and SQS `String` attributes). */
export type MessageAttributes = Readonly<Record<string, string>>;

export interface OrderPublisher {
  /**
   * Resolves with the message id once the message is durably accepted. A `traceparent` among the
   * attributes (captured when the message was decided, e.g. in an outbox record) is the producer span's
   * parent; otherwise the active span is.
   */
  publish(body: string, attributes?: MessageAttributes): Promise<string>;
}

export interface QueueConsumer {
  /** Waits up to `waitS` for at least one message; hidden from other receivers for `visibilityS`. */
  receive(max: number, waitS: number, visibilityS: number, signal: AbortSignal): Promise<QueueMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  /** 0 returns the message to the queue at once. */
  changeVisibility(receiptHandle: string, visibilityS: number): Promise<void>;
}
