/**
 * The processor on AWS Lambda as one more module of the graph. It adds itself to the table instead of
 * being listed in registry.ts, and reaches the commerce modules only for the order worker's stores and
 * gateway, so the rest of the graph can change shape underneath it.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig } from "../adapters/aws.ts";
import { SqsQueue } from "../adapters/sqs/queue.ts";
import { LambdaProcessor } from "../lambda/processor.ts";
import { OrderWorker } from "../services/processor.ts";
import type { ModuleTable } from "./graph.ts";
import { type Environment, type Modules, moduleTable } from "./registry.ts";

export interface LambdaModules {
  /** Handles one invocation at a time; the loop that feeds it is src/lambda/run.ts. */
  lambdaProcessor: LambdaProcessor;
}

export type LambdaGraph = Modules & LambdaModules;

/**
 * The state an order's effects touch. On Lambda the api is always another process, so in-memory stores
 * would complete nothing anyone can see: each must be a table.
 */
export const LAMBDA_TABLES = ["ORDERS_TABLE", "INVENTORY_TABLE", "IDEMPOTENCY_TABLE"] as const;

export function lambdaTable(environment: Environment): ModuleTable<LambdaGraph> {
  // A module of the base table reaches only base modules, so it is a module of this larger graph as is;
  // TypeScript measures ModuleDef as invariant in its graph and cannot see that.
  const base = moduleTable(environment) as unknown as Omit<ModuleTable<LambdaGraph>, "lambdaProcessor">;
  return {
    ...base,
    lambdaProcessor: {
      deps: ["config", "logger", "orderStore", "inventoryStore", "paymentGateway"],
      init: ({ get }) => {
        const config = get("config");
        const missing = LAMBDA_TABLES.filter((name) => !config[name]);
        if (missing.length > 0) {
          throw new Error(
            `the processor on Lambda shares orders, stock and charges with the api through DynamoDB: set ${missing.join(", ")}`,
          );
        }
        // The queue the event source mapping reads; only used to set failed messages' retry times.
        const queue = config.SQS_QUEUE_URL
          ? new SqsQueue(new SQSClient(awsClientConfig(config, "SQS")), config.SQS_QUEUE_URL)
          : undefined;
        const processor = new LambdaProcessor(
          new OrderWorker(get("orderStore"), get("inventoryStore"), get("paymentGateway")),
          {
            concurrency: config.PROCESSOR_CONCURRENCY,
            orderReserveMs: config.LAMBDA_ORDER_RESERVE_MS,
            visibilityS: config.QUEUE_VISIBILITY_TIMEOUT_S,
          },
          get("logger").child({ module: "lambda" }),
          queue,
        );
        return { value: processor };
      },
    },
  };
}
