import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { Config } from "../../config.ts";
import type { MessageAttributes, OrderPublisher, QueueConsumer, QueueMessage } from "../../domain/queue.ts";
import { tracing } from "../../observability/tracing.ts";
import { awsClientConfig, messageAttributes, sendTraced } from "../aws.ts";

/** The queue at `queueUrl` (SQS_QUEUE_URL), with a client from the SDK's standard variables. */
export function createSqsQueue(config: Config, queueUrl: string): SqsQueue {
  const sqs = new SQSClient(awsClientConfig(config, "SQS"));
  tracing()?.instrumentAws(sqs, "sqs");
  return new SqsQueue(sqs, queueUrl);
}

/** The message attributes that carry the trace context; the processor asks for these only. */
const TRACE_ATTRIBUTES = ["traceparent", "tracestate"];

/** SQS_QUEUE_URL. The dead-letter queue is the queue's own redrive policy (Terraform / the test harness). */
export class SqsQueue implements QueueConsumer, OrderPublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  publish(body: string, attributes?: MessageAttributes): Promise<string> {
    const queue = this.queueUrl.slice(this.queueUrl.lastIndexOf("/") + 1);
    const target = { system: "aws_sqs", service: "SQS", method: "SendMessage", destination: queue } as const;
    return sendTraced(target, attributes, (a) => this.send(body, a));
  }

  private async send(body: string, attributes: MessageAttributes | undefined): Promise<string> {
    const r = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        ...(attributes === undefined ? {} : { MessageAttributes: messageAttributes(attributes) }),
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
          MessageAttributeNames: TRACE_ATTRIBUTES,
        }),
        { abortSignal: signal },
      );
      return (r.Messages ?? []).map((m) => ({
        id: m.MessageId ?? "",
        body: m.Body ?? "",
        receiptHandle: m.ReceiptHandle ?? "",
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
        trace: traceOf(m.MessageAttributes),
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

function traceOf(
  attributes: Record<string, { StringValue?: string | undefined }> | undefined,
): Record<string, string> | undefined {
  const traceparent = attributes?.traceparent?.StringValue;
  if (traceparent === undefined) return undefined;
  const tracestate = attributes?.tracestate?.StringValue;
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}
