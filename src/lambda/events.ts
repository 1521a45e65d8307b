/**
 * The two event shapes the processor accepts on Lambda: an SQS batch from an event source mapping, and
 * an SNS notification from a direct subscription. Both become the same records; anything else is
 * refused as a whole, because without a message id per record there is nothing to report back.
 */

export type EventSource = "sqs" | "sns";

export interface EventRecord {
  /** The SQS message id (the `itemIdentifier` of a batch item failure) or the SNS message id. */
  id: string;
  body: string;
  /** SQS only: lets a failed message's visibility be set for its retry. */
  receiptHandle: string | undefined;
  /** 1 on first delivery; SNS-direct invocations carry no count. */
  receiveCount: number;
  /** The publisher's trace context, from the `traceparent` message attribute. */
  trace?: Record<string, string> | undefined;
}

export type LambdaEvent = { kind: EventSource; records: EventRecord[] } | { kind: "unknown"; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function sqsRecord(r: Record<string, unknown>): EventRecord | undefined {
  const id = text(r.messageId);
  if (!id) return undefined;
  const count = Number(isObject(r.attributes) ? r.attributes.ApproximateReceiveCount : undefined);
  return {
    id,
    // A record without a string body is still reported by its id: it is a malformed message, not a bad event.
    body: text(r.body) ?? "",
    receiptHandle: text(r.receiptHandle),
    receiveCount: Number.isInteger(count) && count >= 1 ? count : 1,
    trace: traceOf(r.messageAttributes, "stringValue"),
  };
}

/** `traceparent` (and `tracestate`) among a record's message attributes: SQS spells the value stringValue, SNS Value. */
function traceOf(attributes: unknown, valueKey: "stringValue" | "Value"): Record<string, string> | undefined {
  if (!isObject(attributes)) return undefined;
  const value = (name: string) => {
    const a = attributes[name];
    return isObject(a) ? text(a[valueKey]) : undefined;
  };
  const traceparent = value("traceparent");
  if (traceparent === undefined) return undefined;
  const tracestate = value("tracestate");
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

function snsRecord(r: Record<string, unknown>): EventRecord | undefined {
  const sns = isObject(r.Sns) ? r.Sns : undefined;
  const id = text(sns?.MessageId);
  if (!sns || !id) return undefined;
  return {
    id,
    body: text(sns.Message) ?? "",
    receiptHandle: undefined,
    receiveCount: 1,
    trace: traceOf(sns.MessageAttributes, "Value"),
  };
}

/** The event source's name as each service spells it (SQS in camel case, SNS in Pascal case). */
function sourceOf(r: Record<string, unknown>): EventSource | undefined {
  if (r.eventSource === "aws:sqs") return "sqs";
  if (r.EventSource === "aws:sns") return "sns";
  return undefined;
}

export function parseEvent(payload: string): LambdaEvent {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { kind: "unknown", reason: "the event is not JSON" };
  }
  const list = isObject(value) ? value.Records : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    return { kind: "unknown", reason: "the event has no Records: expected an SQS or SNS event" };
  }
  const first = isObject(list[0]) ? sourceOf(list[0]) : undefined;
  if (!first) return { kind: "unknown", reason: "the first record is neither aws:sqs nor aws:sns" };
  const records: EventRecord[] = [];
  for (const [i, r] of list.entries()) {
    const record =
      isObject(r) && sourceOf(r) === first ? (first === "sqs" ? sqsRecord : snsRecord)(r) : undefined;
    if (!record)
      return { kind: "unknown", reason: `record ${i} is not an aws:${first} record with a message id` };
    records.push(record);
  }
  return { kind: first, records };
}
