/**
 * AWS client settings from the SDK's standard variables, as parsed by src/config.ts (not read from
 * process.env, so in-process test shops can each point at their own emulator).
 */
import type { Config } from "../config.ts";
import { isNetworkError } from "../resilience/policy.ts";

export interface AwsClientConfig {
  region: string | undefined;
  endpoint: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

export function awsEndpoint(config: Config, service: "DYNAMODB" | "SQS" | "SNS"): string | undefined {
  return config[`AWS_ENDPOINT_URL_${service}`] ?? config.AWS_ENDPOINT_URL;
}

export function awsClientConfig(config: Config, service: "DYNAMODB" | "SQS" | "SNS"): AwsClientConfig {
  const endpoint = awsEndpoint(config, service);
  const local = endpoint !== undefined && LOOPBACK.has(new URL(endpoint).hostname);
  return {
    region: config.AWS_REGION ?? (local ? "us-east-1" : undefined),
    endpoint,
    // Emulators on this machine accept any signature; a fixed pair spares developers an AWS profile.
    // Real endpoints use the SDK's default credential chain (environment, task role, profile).
    ...(local ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  };
}

/** Error names the AWS services and the SDK use for throttling, server-side and transport failures. */
const TRANSIENT_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalServerError",
  "InternalError",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "TransactionInProgressException",
]);

/**
 * The one classifier of AWS failures (DynamoDB, SQS, SNS) worth another attempt and counted by the
 * breakers: throttling, 5xx, the network. Never a failed condition, a validation error or a missing
 * table or queue: those are answers, and retrying them would only hide a bug or a race the caller handles.
 */
export function isAwsTransient(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  if (!(err instanceof Error)) return false;
  // The SDK marks the errors its own retry strategy would retry (throttling among them).
  const retryable = (err as { $retryable?: unknown }).$retryable !== undefined;
  if (retryable || TRANSIENT_NAMES.has(err.name) || /Throttl/.test(err.name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  // Transport failures from the HTTP handler carry the socket error's code, sometimes one level down.
  return (
    isNetworkError((err as { cause?: unknown }).cause) || /socket|ECONNRESET|ECONNREFUSED/i.test(err.message)
  );
}

/** String message attributes in the shape SNS and SQS both take; undefined when there are none. */
export function stringAttributes(
  attributes: Record<string, string>,
): Record<string, { DataType: "String"; StringValue: string }> | undefined {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([k, v]) => [k, { DataType: "String", StringValue: v }]));
}
