import { SnsTopic } from "@cdktn/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktn/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktn/provider-aws/lib/sns-topic-subscription";
import { SqsQueue } from "@cdktn/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktn/provider-aws/lib/sqs-queue-policy";
import { SqsQueueRedriveAllowPolicy } from "@cdktn/provider-aws/lib/sqs-queue-redrive-allow-policy";
import { Construct } from "constructs";

export interface MessagingProps {
  prefix: string;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
}

const DAY_S = 86_400;

/** Denies every request to `resource` that does not arrive over TLS, whoever makes it. */
export function tlsOnly(action: string, resource: string) {
  return {
    Sid: "TlsOnly",
    Effect: "Deny",
    Principal: "*",
    Action: action,
    Resource: resource,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/**
 * Orders flow api → SNS topic → SQS queue (raw delivery) → processor. A message that fails
 * `maxReceiveCount` times lands in the dead-letter queue, where an alarm sees it.
 */
export class Messaging extends Construct {
  readonly topicArn: string;
  readonly queueArn: string;
  readonly queueUrl: string;
  readonly queueName: string;
  readonly deadLetterQueueArn: string;
  readonly deadLetterQueueName: string;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    const { prefix } = props;
    // The AWS-managed SNS key: publishers need no KMS grant, SNS decrypts before delivering to SQS.
    const topic = new SnsTopic(this, "orders-topic", {
      name: `${prefix}-orders`,
      kmsMasterKeyId: "alias/aws/sns",
    });
    // SSE-SQS rather than the aws/sqs KMS key: SNS cannot use the AWS-managed SQS key to deliver.
    const dlq = new SqsQueue(this, "orders-dlq", {
      name: `${prefix}-orders-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: 14 * DAY_S,
    });
    const queue = new SqsQueue(this, "orders-queue", {
      name: `${prefix}-orders`,
      sqsManagedSseEnabled: true,
      visibilityTimeoutSeconds: props.visibilityTimeoutSeconds,
      receiveWaitTimeSeconds: 20,
      messageRetentionSeconds: 4 * DAY_S,
      redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: props.maxReceiveCount }),
    });
    new SqsQueueRedriveAllowPolicy(this, "dlq-allow", {
      queueUrl: dlq.url,
      redriveAllowPolicy: JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [queue.arn] }),
    });
    new SqsQueuePolicy(this, "orders-queue-policy", {
      queueUrl: queue.url,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "OnlyTheOrdersTopic",
            Effect: "Allow",
            Principal: { Service: "sns.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: queue.arn,
            Condition: { ArnEquals: { "aws:SourceArn": topic.arn } },
          },
          tlsOnly("sqs:*", queue.arn),
        ],
      }),
    });
    new SqsQueuePolicy(this, "orders-dlq-policy", {
      queueUrl: dlq.url,
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [tlsOnly("sqs:*", dlq.arn)] }),
    });
    // Replaces the default topic policy; the api's task role publishes through its own IAM policy.
    new SnsTopicPolicy(this, "orders-topic-policy", {
      arn: topic.arn,
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [tlsOnly("sns:Publish", topic.arn)] }),
    });
    new SnsTopicSubscription(this, "orders-subscription", {
      topicArn: topic.arn,
      protocol: "sqs",
      endpoint: queue.arn,
      rawMessageDelivery: true,
    });
    this.topicArn = topic.arn;
    this.queueArn = queue.arn;
    this.queueUrl = queue.url;
    this.queueName = queue.name;
    this.deadLetterQueueArn = dlq.arn;
    this.deadLetterQueueName = dlq.name;
  }
}
