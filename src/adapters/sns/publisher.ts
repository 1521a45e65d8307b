import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Config } from "../../config.ts";
import type { MessageAttributes, OrderPublisher } from "../../domain/queue.ts";
import { awsClientConfig, messageAttributes, sendTraced } from "../aws.ts";

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

  publish(body: string, attributes?: MessageAttributes): Promise<string> {
    const topic = this.topicArn.slice(this.topicArn.lastIndexOf(":") + 1);
    const target = { system: "aws_sns", service: "SNS", method: "Publish", destination: topic } as const;
    return sendTraced(target, attributes, (a) => this.send(body, a));
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
