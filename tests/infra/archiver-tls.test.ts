/**
 * The archiver reaches PostgreSQL through exactly the settings Terraform gives its task (DATABASE_URL with
 * sslmode=verify-full and sslrootcert, DATABASE_AUTH=iam, DATABASE_SCHEMA), against a local server that
 * serves TLS only with a certificate from a CA generated for the run. Only the deployment's references are
 * resolved: the RDS address becomes localhost, the port the test server's, and sslrootcert the test CA.
 * The database role it logs in as is made by `shop db-bootstrap`, run with the bootstrap task's settings.
 */
import { afterAll, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { join } from "node:path";
import { PostgresBidArchive, postgresSettings } from "../../src/adapters/postgres/auctions.ts";
import { bootstrapDatabase } from "../../src/adapters/postgres/bootstrap.ts";
import { loadConfig } from "../../src/config.ts";
import { APP } from "../../terraform/config.ts";
import { APP_SCHEMA, APP_USER } from "../../terraform/constructs/database.ts";
import { container, dev, envOf, resource, secretsOf } from "./helpers.ts";
import { ADMIN, makeCa, startTlsCluster, type TlsCluster } from "./postgres-tls.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const s = dev();
const db = resource(s.tf, "aws_db_instance", "database_postgres").id;
const archiverEnv = envOf(container(s.tf, "archiver"));
const bootstrapTask = JSON.parse(
  resource(s.tf, "aws_ecs_task_definition", "db-bootstrap_task").body.container_definitions as string,
)[0] as { command: string[]; environment: { name: string; value: string }[]; secrets: { name: string }[] };
const bootstrapEnv = Object.fromEntries(bootstrapTask.environment.map((e) => [e.name, e.value]));

let cluster: TlsCluster;
beforeAll(() => {
  cluster = startTlsCluster();
});
afterAll(() => cluster?.stop());

/** Terraform's value with the deployment's references resolved for the local server. */
function resolve(value: string, caFile = cluster.ca.certFile): string {
  return value
    .replace(`\${aws_db_instance.${db}.address}:5432`, `localhost:${cluster.port}`)
    .replace(`sslrootcert=${APP.rdsCaFile}`, `sslrootcert=${caFile}`);
}

const AWS = {
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

function archiverConfig(caFile?: string, host = "localhost") {
  return loadConfig({
    DATABASE_URL: resolve(archiverEnv.DATABASE_URL ?? "", caFile).replace("@localhost:", `@${host}:`),
    DATABASE_AUTH: archiverEnv.DATABASE_AUTH,
    DATABASE_SCHEMA: archiverEnv.DATABASE_SCHEMA,
    AWS_REGION: archiverEnv.AWS_REGION,
  });
}

/** The token the archiver signs at `at`: RDS accepts it, so the test server is given it as the password. */
async function tokenAt(at: Date): Promise<string> {
  setSystemTime(at);
  const settings = postgresSettings(archiverConfig());
  const token = await settings.password?.();
  if (!token) throw new Error("DATABASE_AUTH=iam gave no password source");
  return token;
}

const bid = (n: number) => ({
  type: "bid" as const,
  event_id: `1-${n}`,
  bid_id: `00000000-0000-4000-8000-00000000000${n}`,
  item_id: "tls-item",
  user_id: "tls-user",
  amount: 1000 + n,
  previous_bid: 1000 + n - 1,
  auto: false,
  seq: n,
  timestamp: 1_700_000_000_000 + n,
});

describe("Terraform's database settings", () => {
  test("are verify-full against the shipped RDS bundle, IAM auth, the application role and schema", () => {
    expect(archiverEnv.DATABASE_URL).toBe(
      `postgres://${APP_USER}@\${aws_db_instance.${db}.address}:5432/shop?sslmode=verify-full&sslrootcert=${APP.rdsCaFile}`,
    );
    expect(archiverEnv.DATABASE_AUTH).toBe("iam");
    expect(archiverEnv.DATABASE_SCHEMA).toBe(APP_SCHEMA);
    expect(secretsOf(container(s.tf, "archiver")).PGPASSWORD).toBeUndefined();
    expect(bootstrapTask.command).toEqual(["db-bootstrap", "--user", APP_USER, "--iam"]);
    expect(bootstrapTask.secrets.map((x) => x.name)).toEqual(["PGPASSWORD"]);
  });
});

describe("the archiver over TLS with IAM tokens", () => {
  let previousEnv: Record<string, string | undefined>;
  beforeAll(async () => {
    previousEnv = { ...process.env };
    Object.assign(process.env, AWS);
    // The bootstrap task: the master's URL and password, `shop db-bootstrap --user shop_app --iam`.
    const admin = loadConfig({
      DATABASE_URL: resolve(bootstrapEnv.DATABASE_URL ?? "").replace(
        "postgres://shop_admin@",
        `postgres://${ADMIN.user}:${ADMIN.password}@`,
      ),
      DATABASE_SCHEMA: bootstrapEnv.DATABASE_SCHEMA,
    });
    const lines: string[] = [];
    for (let i = 0; i < 2; i++) {
      await bootstrapDatabase(
        { url: admin.DATABASE_URL ?? "", user: APP_USER, schema: admin.DATABASE_SCHEMA, iam: true },
        (l) => lines.push(l),
      );
    }
    expect(lines).toHaveLength(2);
  });
  afterAll(() => {
    setSystemTime();
    for (const k of Object.keys(AWS)) {
      if (previousEnv[k] === undefined) delete process.env[k];
      else process.env[k] = previousEnv[k];
    }
  });

  test("the bootstrap made a least-privilege role: IAM only, may create tables in its schema and nothing else", () => {
    expect(
      cluster.sql(
        "shop",
        `SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = '${APP_USER}'`,
      ),
    ).toBe("f|f|f|t\n");
    expect(cluster.sql("shop", `SELECT pg_has_role('${APP_USER}', 'rds_iam', 'MEMBER')`)).toBe("t\n");
    expect(
      cluster.sql(
        "shop",
        `SELECT has_schema_privilege('${APP_USER}', '${APP_SCHEMA}', 'CREATE'), has_database_privilege('${APP_USER}', 'shop', 'CREATE')`,
      ),
    ).toBe("t|f\n");
  });

  test("connects with the token of the moment, migrates, stores and reads; a rotation is picked up at reconnect", async () => {
    const first = await tokenAt(new Date("2026-01-01T00:00:00Z"));
    cluster.sql("shop", `ALTER ROLE ${APP_USER} PASSWORD '${first}'`);
    setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const archive = new PostgresBidArchive(postgresSettings(archiverConfig()));
    // What the old settings did: one password captured at start, reused at every reconnect.
    const fixed = new PostgresBidArchive({
      ...postgresSettings(archiverConfig()),
      password: async () => first,
    });
    try {
      await archive.migrate();
      await archive.store([bid(1)]);
      expect(await archive.summary("tls-item")).toMatchObject({ current_bid: 1001, bid_count: 1 });
      expect(
        cluster.sql(
          "shop",
          `SELECT tableowner FROM pg_tables WHERE schemaname = '${APP_SCHEMA}' ORDER BY tablename`,
        ),
      ).toBe(`${APP_USER}\n`.repeat(4));
      await fixed.ready?.();

      // Rotation: 15 minutes later the old token has expired on RDS; here the server stops accepting it
      // and every open session is cut, as a failover or an idle timeout would.
      const second = await tokenAt(new Date("2026-01-01T00:15:00Z"));
      expect(second).not.toBe(first);
      cluster.sql("shop", `ALTER ROLE ${APP_USER} PASSWORD '${second}'`);
      cluster.sql(
        "shop",
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${APP_USER}'`,
      );

      // A batch on a session cut under it fails, and the archiver retries it: the retry opens a new
      // connection, which signs a new token.
      await archive.store([bid(2)]).catch(() => archive.store([bid(2)]));
      expect(await archive.summary("tls-item")).toMatchObject({ current_bid: 1002, bid_count: 2 });
      const stale = await fixed.summary("tls-item").then(
        () => "connected",
        (err: Error) => err.message,
      );
      expect(stale).toMatch(/password authentication failed|terminat/);
    } finally {
      await archive.close();
      await fixed.close();
    }
  });

  test("fails closed with a wrong CA, with the shipped RDS bundle, and with a name the certificate lacks", async () => {
    const other = makeCa(cluster.dir, "other-ca");
    const attempt = async (config: ReturnType<typeof archiverConfig>) => {
      const archive = new PostgresBidArchive(postgresSettings(config));
      try {
        await archive.ready?.();
        return "connected";
      } catch (err) {
        return (err as Error).message;
      } finally {
        await archive.close();
      }
    };
    const untrusted = /self[- ]signed certificate in certificate chain|unable to (get local issuer|verify)/i;
    expect(await attempt(archiverConfig(other.certFile))).toMatch(untrusted);
    expect(await attempt(archiverConfig(join(ROOT, "certs", "rds-global-bundle.pem")))).toMatch(untrusted);
    // verify-full checks the name too: the certificate names localhost, not its address.
    const byAddress = archiverConfig(undefined, "127.0.0.1");
    expect(await attempt(byAddress)).toMatch(/IP: 127\.0\.0\.1 is not in the cert|does not match|altnames/i);
  });
});
