/**
 * AWS client settings from the SDK's standard variables, as parsed by src/config.ts (not read from
 * process.env, so in-process test shops can each point at their own emulator).
 */
import type { Config } from "../config.ts";

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
