/**
 * fauxqs in a process of its own, so a test can pause it for real (SIGSTOP/SIGCONT): startQueues' topic →
 * queue (raw delivery, redrive to a DLQ). Prints one JSON line with the env and the DLQ's URL once it
 * listens. Argument: the queue's maxReceiveCount.
 */
import { startQueues } from "./aws.ts";

const queues = await startQueues({ maxReceiveCount: Number(process.argv[2] ?? 5) });
console.log(JSON.stringify({ dlqUrl: queues.dlqUrl, env: queues.env }));
