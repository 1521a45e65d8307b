/**
 * fauxqs in a process of its own, so a test can pause it for real (SIGSTOP/SIGCONT): the same topic →
 * queue (raw delivery, redrive to a DLQ) as startQueues. Prints one JSON line with the env and the DLQ's
 * URL once it listens. Argument: the queue's maxReceiveCount.
 */
import { startFauxqs } from "fauxqs";

const maxReceiveCount = process.argv[2] ?? "5";
const server = await startFauxqs({ port: 0, logger: false });
const prefix = `c${Date.now().toString(36)}`;
const dlq = server.createQueue(`${prefix}-orders-dlq`);
const queue = server.createQueue(`${prefix}-orders`, {
  attributes: {
    VisibilityTimeout: "30",
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount }),
  },
});
const { topicArn } = server.createTopic(`${prefix}-orders`);
server.subscribe({
  topic: `${prefix}-orders`,
  queue: `${prefix}-orders`,
  attributes: { RawMessageDelivery: "true" },
});
console.log(
  JSON.stringify({
    dlqUrl: dlq.queueUrl,
    env: {
      SNS_TOPIC_ARN: topicArn,
      SQS_QUEUE_URL: queue.queueUrl,
      AWS_ENDPOINT_URL_SQS: server.address,
      AWS_ENDPOINT_URL_SNS: server.address,
      AWS_REGION: "us-east-1",
    },
  }),
);
