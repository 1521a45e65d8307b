/**
 * The order queue's numbers, apart from the SQS adapter: the in-process queue uses them too, and a
 * process without SNS/SQS should not have to load the AWS SDK to read them.
 */
import type { PolicyOptions } from "../../resilience/policy.ts";
import { isAwsTransient } from "../aws.ts";

/**
 * Publishing orders (SNS, SQS or the in-process queue), the "queue" policy: a retried send may
 * duplicate a message, which is harmless (the processor is idempotent per order).
 */
export const ORDER_QUEUE_POLICY: PolicyOptions = {
  timeoutMs: 5000,
  maxAttempts: 3,
  initialDelayMs: 20,
  maxDelayMs: 500,
  breakAfter: 5,
  halfOpenAfterMs: 5000,
  isTransient: isAwsTransient,
};

/** SQS' longest long poll: a receive waits this long for the first message. */
export const LONG_POLL_S = 20;
