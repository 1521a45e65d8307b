import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Config } from "../../config.ts";
import type { MessageAttributes, OrderPublisher } from "../../domain/queue.ts";
import { tracing } from "../../observability/tracing.ts";
import { awsClientConfig, messageAttributes } from "../aws.ts";

/** The topic `topicArn` (SNS_TOPIC_ARN), with a client from the SDK's standard variables. */
export function createSnsPublisher(config: Config, topicArn: string): SnsPublisher {
  return new SnsPublisher(new SNSClient(awsClientConfig(config, "SNS")), topicArn);
}

/** SNS_TOPIC_ARN; the topic delivers to the processor's queue with raw message delivery. */
export class SnsPublisher implements OrderPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  /**
   * With tracing on, a producer span whose context travels as the `traceparent` message attribute: raw
   * delivery turns SNS message attributes into the SQS message's attributes, where the processor reads it.
   */
  publish(body: string, attributes?: MessageAttributes): Promise<string> {
    const t = tracing();
    if (t === undefined) return this.send(body, attributes);
    const topic = this.topicArn.slice(this.topicArn.lastIndexOf(":") + 1);
    return t.run(
      `send ${topic}`,
      {
        kind: "producer",
        parent: attributes,
        attributes: {
          "messaging.system": "aws_sns",
          "messaging.operation.type": "send",
          "messaging.destination.name": topic,
          "rpc.system": "aws-api",
          "rpc.service": "SNS",
          "rpc.method": "Publish",
        },
      },
      () => this.send(body, t.inject({ ...attributes })),
    );
  }

  private async send(body: string, attributes: MessageAttributes | undefined): Promise<string> {
    const r = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: body,
        ...(attributes === undefined ? {} : { MessageAttributes: messageAttributes(attributes) }),
      }),
    );
    return r.MessageId ?? "";
  }
}
