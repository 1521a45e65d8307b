import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Config } from "../../config.ts";
import type { OrderPublisher } from "../../domain/queue.ts";
import { awsClientConfig, stringAttributes } from "../aws.ts";

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

  async publish(body: string, attributes: Record<string, string> = {}): Promise<string> {
    const r = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: body,
        MessageAttributes: stringAttributes(attributes),
      }),
    );
    return r.MessageId ?? "";
  }
}
