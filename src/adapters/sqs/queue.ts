import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { Config } from "../../config.ts";
import type { OrderPublisher, QueueConsumer, QueueMessage } from "../../domain/queue.ts";
import { awsClientConfig, stringAttributes } from "../aws.ts";

/** The queue at `queueUrl` (SQS_QUEUE_URL), with a client from the SDK's standard variables. */
export function createSqsQueue(config: Config, queueUrl: string): SqsQueue {
  return new SqsQueue(new SQSClient(awsClientConfig(config, "SQS")), queueUrl);
}

/** SQS_QUEUE_URL. The dead-letter queue is the queue's own redrive policy (Terraform / the test harness). */
export class SqsQueue implements QueueConsumer, OrderPublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(body: string, attributes: Record<string, string> = {}): Promise<string> {
    const r = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        MessageAttributes: stringAttributes(attributes),
      }),
    );
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
