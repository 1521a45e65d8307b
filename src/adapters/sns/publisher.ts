import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { OrderPublisher } from "../../domain/queue.ts";

/** SNS_TOPIC_ARN; the topic delivers to the processor's queue with raw message delivery. */
export class SnsPublisher implements OrderPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(body: string): Promise<string> {
    const r = await this.sns.send(new PublishCommand({ TopicArn: this.topicArn, Message: body }));
    return r.MessageId ?? "";
  }
}
