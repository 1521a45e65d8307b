/**
 * AWS emulators for tests: DynamoDB Local (a shared child JVM, see deps.ts) and fauxqs (SNS/SQS, started in
 * this process on a free port). Table and queue names carry a per-run prefix so tests sharing one emulator,
 * and parallel runs, never collide.
 */
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { TABLES } from "../../src/adapters/dynamodb/tables.ts";
import { migrate } from "../../src/cli/migrate.ts";
import { loadConfig } from "../../src/config.ts";
import { stopProcess } from "./deps.ts";

export const runId = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Creates the commerce tables through `shop migrate`'s own code and returns the env naming them. */
export async function createCommerceTables(
  endpoint: string,
  prefix = runId(),
): Promise<Record<string, string>> {
  const env: Record<string, string> = { AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_REGION: "us-east-1" };
  // Every table but the products one, which product tests create themselves.
  for (const { env: variable } of TABLES.filter((t) => t.env !== "PRODUCTS_TABLE")) {
    env[variable] = `${prefix}-${variable.toLowerCase().replace("_table", "")}`;
  }
  await migrate(loadConfig(env), false, () => {});
  return env;
}

export interface Queues {
  server: FauxqsServer;
  queueName: string;
  dlqName: string;
  dlqUrl: string;
  /** SNS_TOPIC_ARN, SQS_QUEUE_URL and the SNS/SQS endpoints. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Topic → queue (raw delivery) with a dead-letter queue after `maxReceiveCount` receives. */
export async function startQueues(opts: { maxReceiveCount: number; visibilityS?: number }): Promise<Queues> {
  const server = await startFauxqs({ port: 0, logger: false });
  const prefix = runId();
  const dlqName = `${prefix}-orders-dlq`;
  const queueName = `${prefix}-orders`;
  const dlq = server.createQueue(dlqName);
  const queue = server.createQueue(queueName, {
    attributes: {
      VisibilityTimeout: String(opts.visibilityS ?? 30),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: String(opts.maxReceiveCount),
      }),
    },
  });
  const { topicArn } = server.createTopic(`${prefix}-orders`);
  server.subscribe({
    topic: `${prefix}-orders`,
    queue: queueName,
    attributes: { RawMessageDelivery: "true" },
  });
  return {
    server,
    queueName,
    dlqName,
    dlqUrl: dlq.queueUrl,
    env: {
      SNS_TOPIC_ARN: topicArn,
      SQS_QUEUE_URL: queue.queueUrl,
      AWS_ENDPOINT_URL_SQS: server.address,
      AWS_ENDPOINT_URL_SNS: server.address,
      AWS_REGION: "us-east-1",
    },
    stop: () => server.stop(),
  };
}

export interface QueuesProcess {
  env: Record<string, string>;
  dlqUrl: string;
  /** SIGSTOP, resolved once every thread is stopped; nothing answers until `resume()`. */
  pause(): Promise<void>;
  resume(): void;
  kill(): Promise<void>;
}

/** startQueues' topic and queues, served by fauxqs in a child process (dies with the test process). */
export async function startQueuesProcess(opts: { maxReceiveCount: number }): Promise<QueuesProcess> {
  const proc = Bun.spawn(
    [
      "setpriv",
      "--pdeathsig",
      "KILL",
      process.execPath,
      new URL("./fauxqs-child.ts", import.meta.url).pathname,
      String(opts.maxReceiveCount),
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "inherit" },
  );
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fauxqs exited before listening (code ${await proc.exited})`);
    text += new TextDecoder().decode(value);
  }
  // Keeps draining, so its pipe never fills.
  void (async () => {
    while (!(await reader.read()).done) {}
  })();
  const { env, dlqUrl } = JSON.parse(text.slice(0, text.indexOf("\n"))) as {
    env: Record<string, string>;
    dlqUrl: string;
  };
  return {
    env,
    dlqUrl,
    pause: () => stopProcess(proc.pid),
    resume: () => proc.kill("SIGCONT"),
    kill: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
