/**
 * How shop reaches PostgreSQL. The URL is read the way libpq reads it (`sslmode=verify-full` checks the
 * certificate chain and the host name, `sslrootcert=FILE` is the only CA trusted), and the password is
 * fetched for every new connection: with DATABASE_AUTH=iam that is a fresh RDS IAM token, so reconnects
 * keep working however long the process lives. A password fixed at process start would not survive
 * the rotation of a managed secret.
 */
import { Signer } from "@aws-sdk/rds-signer";
import type pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";

export type DatabaseAuth = "password" | "iam";

/** Called for every new connection; whatever it returns is sent as that connection's password. */
export type PasswordSource = () => Promise<string>;

/** RDS IAM authentication: a token signed with the task role's current credentials, valid 15 minutes. */
export function iamPasswordSource(url: string, region: string): PasswordSource {
  const { host, port, user } = parseIntoClientConfig(url);
  if (!host || !user) throw new Error("DATABASE_AUTH=iam needs a host and a user in DATABASE_URL");
  const signer = new Signer({ hostname: host, port: port ?? 5432, username: user, region });
  return () => signer.getAuthToken();
}

/**
 * Pool settings for `url`. pg's own parsing of `connectionString` would replace a password callback with
 * the URL's empty password, so the URL is parsed here and the callback set afterwards.
 */
export function connectionConfig(url: string, password?: PasswordSource): pg.ClientConfig {
  const { password: inUrl, ...config } = parseIntoClientConfig(url);
  if (password) return { ...config, password };
  return inUrl ? { ...config, password: inUrl } : config;
}

export function passwordSource(
  auth: DatabaseAuth,
  url: string,
  region: string | undefined,
): PasswordSource | undefined {
  if (auth === "password") return undefined;
  if (!region) throw new Error("DATABASE_AUTH=iam needs AWS_REGION (the token is signed for one region)");
  return iamPasswordSource(url, region);
}
