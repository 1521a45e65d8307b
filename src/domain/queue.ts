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
}

export interface OrderPublisher {
  /**
   * Resolves with the queue's message id once the message is durably accepted; `attributes` travel as
   * the message's string attributes (SNS/SQS MessageAttributes).
   */
  publish(body: string, attributes?: Record<string, string>): Promise<string>;
}

export interface QueueConsumer {
  /** Waits up to `waitS` for at least one message; hidden from other receivers for `visibilityS`. */
  receive(max: number, waitS: number, visibilityS: number, signal: AbortSignal): Promise<QueueMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  /** 0 returns the message to the queue at once. */
  changeVisibility(receiptHandle: string, visibilityS: number): Promise<void>;
}
