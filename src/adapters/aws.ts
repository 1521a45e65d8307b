/**
 * AWS client settings from the SDK's standard variables, as parsed by src/config.ts (not read from
 * process.env, so in-process test shops can each point at their own emulator).
 */
import type { Config } from "../config.ts";
import type { MessageAttributes } from "../domain/queue.ts";
import { tracing } from "../observability/tracing.ts";
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

/** String message attributes in the shape SNS Publish and SQS SendMessage both take. */
export function messageAttributes(
  attributes: Readonly<Record<string, string>>,
): Record<string, { DataType: "String"; StringValue: string }> {
  const out: Record<string, { DataType: "String"; StringValue: string }> = {};
  for (const [name, value] of Object.entries(attributes))
    out[name] = { DataType: "String", StringValue: value };
  return out;
}

/**
 * Sends one message under a producer span when tracing is on: a `traceparent` among `attributes` (an
 * outbox record's, captured with its request) is the span's parent, otherwise the active span is, and the
 * span's own context travels as the message's `traceparent` attribute. SNS raw delivery turns SNS message
 * attributes into the SQS message's, where the processor reads it.
 */
export function sendTraced(
  target: { system: "aws_sns" | "aws_sqs"; service: "SNS" | "SQS"; method: string; destination: string },
  attributes: MessageAttributes | undefined,
  send: (attributes: MessageAttributes | undefined) => Promise<string>,
): Promise<string> {
  const t = tracing();
  if (t === undefined) return send(attributes);
  return t.run(
    `send ${target.destination}`,
    {
      kind: "producer",
      parent: attributes,
      attributes: {
        "messaging.system": target.system,
        "messaging.operation.type": "send",
        "messaging.destination.name": target.destination,
        "rpc.system": "aws-api",
        "rpc.service": target.service,
        "rpc.method": target.method,
      },
    },
    () => send(t.inject({ ...attributes })),
  );
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
