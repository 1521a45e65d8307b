import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { OrderPublisher, QueueConsumer, QueueMessage } from "../../domain/queue.ts";
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

/** SQS_QUEUE_URL. The dead-letter queue is the queue's own redrive policy (Terraform / the test harness). */
export class SqsQueue implements QueueConsumer, OrderPublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(body: string): Promise<string> {
    const r = await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body }));
    return r.MessageId ?? "";
  }

  async receive(
    max: number,
    waitS: number,
    visibilityS: number,
    signal: AbortSignal,
  ): Promise<QueueMessage[]> {
    try {
      const r = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitS,
          VisibilityTimeout: visibilityS,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
        { abortSignal: signal },
      );
      return (r.Messages ?? []).map((m) => ({
        id: m.MessageId ?? "",
        body: m.Body ?? "",
        receiptHandle: m.ReceiptHandle ?? "",
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
      }));
    } catch (err) {
      if (signal.aborted) return [];
      throw err;
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
  }

  async changeVisibility(receiptHandle: string, visibilityS: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: visibilityS,
      }),
    );
  }
}
