/**
 * The transactional outbox: a message to publish is written in the same atomic step as the state change
 * it announces (an accepted order, a checked-out cart), so there is never a change without its message
 * or a message without its change. A relay (services/outbox-relay.ts) publishes the records and removes
 * them: at-least-once, which the processor's per-order idempotence absorbs.
 */

export interface OutboxRecord {
  /** Unique per accepted request; also the `message_id` the api answers, known before publishing. */
  id: string;
  /** The message body: the order message of src/domain/orders.ts. */
  body: string;
  /** Passed to the publisher as message attributes (string → string), e.g. a `traceparent`. */
  attributes: Record<string, string>;
  /** Epoch ms: the relay's lag is the age of the oldest record still here. */
  created_at: number;
  /**
   * Epoch ms before which no sweep publishes it: a sync order's takeover record (Order.takeover_at),
   * which matters only if the order's payer does not finish it first (and then removes the record).
   */
  not_before?: number;
}

export interface OutboxStore {
  /** Up to `limit` records not yet published, in no particular order. */
  pending(limit: number): Promise<OutboxRecord[]>;
  /** The record was published: removes it; a record already removed is no error. */
  markSent(id: string): Promise<void>;
}

/** The outbox record announcing `orderId` to the processor. */
export function orderMessageRecord(orderId: string, attributes: Record<string, string> = {}): OutboxRecord {
  return {
    id: crypto.randomUUID(),
    body: JSON.stringify({ order_id: orderId }),
    attributes,
    created_at: Date.now(),
  };
}
