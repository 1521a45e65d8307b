/**
 * AWS client settings from the SDK's standard variables, read from the given environment (not
 * process.env) so in-process test shops can each point at their own emulator.
 */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const LOCAL = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/;

export function awsClientConfig(
  env: Record<string, string | undefined>,
  service: "DYNAMODB" | "SQS" | "SNS",
): AwsClientConfig {
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const config: AwsClientConfig = { region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1" };
  if (endpoint) config.endpoint = endpoint;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) config.credentials = { accessKeyId, secretAccessKey };
  // Local emulators ignore credentials but the SDK insists on some; real endpoints use the default chain.
  else if (endpoint && LOCAL.test(endpoint))
    config.credentials = { accessKeyId: "local", secretAccessKey: "local" };
  return config;
}
