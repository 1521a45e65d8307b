/**
 * The one DynamoDB client of the process, shared by every DynamoDB store, and the policy all their calls
 * go through. Endpoint and region come from the SDK's standard variables (read via src/config.ts), so the
 * same binary talks to AWS or to a local emulator.
 */
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../../config.ts";
import { tracing } from "../../observability/tracing.ts";
import type { Resilience } from "../../resilience/index.ts";
import type { DependencyPolicy, PolicyOptions } from "../../resilience/policy.ts";
import { awsClientConfig, awsEndpoint, isAwsTransient } from "../aws.ts";
import { configuredTables } from "./tables.ts";

export interface DynamoDb {
  /** Marshals plain objects; numbers stay numbers. */
  doc: DynamoDBDocumentClient;
  raw: DynamoDBClient;
  /** Every store call goes through it: `policy.execute((signal) => doc.send(cmd, { abortSignal: signal }))`. */
  policy: DependencyPolicy;
}

export const DYNAMODB_POLICY: PolicyOptions = {
  timeoutMs: 1000,
  maxAttempts: 3,
  initialDelayMs: 25,
  maxDelayMs: 250,
  breakAfter: 5,
  halfOpenAfterMs: 1000,
  isTransient: isAwsTransient,
};

/**
 * The commerce stores' calls (orders, carts, inventory, idempotency, counters, charges): a timeout and a
 * breaker but no retries here, since a retried non-keyed write could apply twice (and the shared client
 * has SDK retries off, so throttling is not retried either). A timeout means "unknown": callers resolve it
 * by an idempotent retry or a read.
 */
export const COMMERCE_DB_POLICY: PolicyOptions = {
  timeoutMs: 3000,
  maxAttempts: 1,
  initialDelayMs: 0,
  maxDelayMs: 0,
  breakAfter: 10,
  halfOpenAfterMs: 2000,
  isTransient: isAwsTransient,
};

/** Real AWS hosts; anything else (a container name, localhost) is an emulator. */
export function isAwsEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return true;
  const host = new URL(endpoint).hostname;
  return /(^|\.)amazonaws\.com(\.cn)?$/.test(host) || /(^|\.)api\.aws$/.test(host);
}

export const dynamoEndpoint = (config: Config) => awsEndpoint(config, "DYNAMODB");

export function createDynamoClient(config: Config): DynamoDBClient {
  return new DynamoDBClient({
    ...awsClientConfig(config, "DYNAMODB"),
    // The policy is the single retry layer: SDK retries inside it would multiply attempts and delay the breaker.
    maxAttempts: 1,
  });
}

export function createDynamoDb(config: Config, resilience: Resilience): DynamoDb {
  const raw = createDynamoClient(config);
  tracing()?.instrumentAws(raw, "dynamodb");
  return {
    raw,
    doc: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }),
    policy: resilience.policy("dynamodb", DYNAMODB_POLICY),
  };
}

/** Readiness: every configured table answers DescribeTable (so a wrong name fails as loudly as an outage). */
export async function probeTables(db: DynamoDb, config: Config, timeoutMs: number): Promise<unknown> {
  const tables = configuredTables(config);
  await Promise.all(
    tables.map(({ name }) =>
      db.raw.send(new DescribeTableCommand({ TableName: name }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      }),
    ),
  );
  return { tables: tables.map((t) => t.name), breaker: db.policy.state() };
}
