/**
 * `shop db-bootstrap`: run once per database as its administrator (the RDS master user) to create the
 * least-privilege login role the archiver runs as. Idempotent: a re-run changes nothing. The role may
 * connect and create tables in the archive schema, nothing else; with `iam` it is granted `rds_iam`,
 * so RDS accepts only IAM tokens for it (no password exists to leak or rotate).
 */
import pg from "pg";
import { connectionConfig } from "./connection.ts";

export interface BootstrapSettings {
  /** The administrator's connection (URL, password from it or PGPASSWORD). */
  url: string;
  /** Login role to create for the application. */
  user: string;
  /** Schema the application owns the tables of. */
  schema: string;
  iam: boolean;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The statements, in order; identifiers are validated, so they need no quoting. */
export function bootstrapStatements(s: Omit<BootstrapSettings, "url">): string[] {
  for (const [what, name] of [
    ["user", s.user],
    ["schema", s.schema],
  ] as const) {
    if (!IDENTIFIER.test(name)) throw new Error(`${what} "${name}" is not a lower-case SQL identifier`);
  }
  return [
    // Serialises two bootstraps started at once (CREATE ROLE has no IF NOT EXISTS).
    "SELECT pg_advisory_xact_lock(hashtext('shop.db-bootstrap'))",
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${s.user}') THEN CREATE ROLE ${s.user} LOGIN; END IF;
     END $$`,
    // Only attributes an RDS master (CREATEROLE, not a superuser) may set; a new role is no superuser anyway.
    `ALTER ROLE ${s.user} LOGIN NOCREATEDB NOCREATEROLE`,
    ...(s.iam ? [`GRANT rds_iam TO ${s.user}`] : []),
    `DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO ${s.user}', current_database()); END $$`,
    `CREATE SCHEMA IF NOT EXISTS ${s.schema}`,
    // The application creates and owns its tables here (its migrations run at start) and nothing elsewhere.
    `GRANT USAGE, CREATE ON SCHEMA ${s.schema} TO ${s.user}`,
  ];
}

export async function bootstrapDatabase(settings: BootstrapSettings, print: (line: string) => void) {
  const statements = bootstrapStatements(settings);
  const client = new pg.Client({ ...connectionConfig(settings.url), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query("BEGIN");
    for (const sql of statements) await client.query(sql);
    await client.query("COMMIT");
    print(
      `database role ${settings.user} ready: connect${settings.iam ? " with IAM tokens" : ""}, ` +
        `create tables in schema ${settings.schema}`,
    );
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
