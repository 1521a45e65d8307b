/**
 * A private PostgreSQL cluster serving TLS only, with a certificate for `localhost` issued by a CA generated
 * for the run, and roles shaped like RDS's: an administrator that may create roles (not a superuser) and a
 * NOLOGIN `rds_iam` role it may grant. It listens on a free port next to the shared server, never on 5432.
 */
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/free-port.ts";

const PG_ROOT = "/usr/lib/postgresql";

function pgBin(): string {
  const versions = [...new Bun.Glob("*/bin/initdb").scanSync(PG_ROOT)]
    .map((p) => p.split("/")[0] ?? "")
    .sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error(`no PostgreSQL server binaries under ${PG_ROOT}/*/bin`);
  return `${PG_ROOT}/${versions[0]}/bin`;
}

function run(cmd: string[], opts: { cwd?: string } = {}): string {
  const proc = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", ...opts });
  if (proc.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} exited ${proc.exitCode}: ${proc.stderr.toString()}${proc.stdout}`);
  }
  return proc.stdout.toString();
}

export interface Ca {
  /** PEM of the CA certificate: what a client passes as sslrootcert. */
  certFile: string;
  keyFile: string;
}

/** A self-signed CA (P-256), valid two days. */
export function makeCa(dir: string, name: string): Ca {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { certFile, keyFile };
}

/** A server certificate for `localhost` signed by `ca`. */
function serverCert(dir: string, ca: Ca): { cert: string; key: string } {
  const key = join(dir, "server.key");
  const csr = join(dir, "server.csr");
  const cert = join(dir, "server.crt");
  const ext = join(dir, "server.ext");
  writeFileSync(ext, "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n");
  run([
    "openssl",
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    "/CN=localhost",
  ]);
  run([
    "openssl",
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

export interface TlsCluster {
  port: number;
  dir: string;
  ca: Ca;
  /** Runs SQL as the cluster's superuser over the Unix socket (setup and test assertions only). */
  sql(database: string, statement: string): string;
  stop(): void;
}

/** The administrator the bootstrap connects as, like the RDS master user. */
export const ADMIN = { user: "shop_admin", password: "admin-password-for-tests", database: "shop" };

export function startTlsCluster(): TlsCluster {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), "shop-pg-tls-"));
  const data = join(dir, "data");
  const ca = makeCa(dir, "test-ca");
  const { cert, key } = serverCert(dir, ca);
  // The server must own its data directory and key; root cannot run it, so it runs as `postgres`.
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? "postgres" : undefined;
  const as = (cmd: string[]) => (user ? ["runuser", "-u", user, "--", ...cmd] : cmd);
  if (user) {
    const uid = Number(run(["id", "-u", user]).trim());
    const gid = Number(run(["id", "-g", user]).trim());
    for (const path of [dir, cert, key, ca.certFile]) chownSync(path, uid, gid);
  }
  Bun.spawnSync(["chmod", "0600", key]);
  run(as([`${bin}/initdb`, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]), { cwd: dir });
  const port = freePort();
  writeFileSync(
    join(data, "postgresql.auto.conf"),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      "ssl = on",
      `ssl_cert_file = '${cert}'`,
      `ssl_key_file = '${key}'`,
      "password_encryption = 'scram-sha-256'",
      "fsync = off",
      "",
    ].join("\n"),
  );
  // Like RDS with rds.force_ssl: TCP only over TLS, with passwords (IAM tokens arrive as passwords).
  writeFileSync(
    join(data, "pg_hba.conf"),
    [
      "local all postgres trust",
      "hostssl all all 127.0.0.1/32 scram-sha-256",
      "hostnossl all all 0.0.0.0/0 reject",
      "",
    ].join("\n"),
  );
  if (user)
    for (const f of ["postgresql.auto.conf", "pg_hba.conf"]) Bun.spawnSync(["chown", user, join(data, f)]);
  run(as([`${bin}/pg_ctl`, "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "30", "start"]), {
    cwd: dir,
  });

  const sql = (database: string, statement: string) =>
    run([
      "psql",
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      database,
      "-v",
      "ON_ERROR_STOP=1",
      "-Atqc",
      statement,
    ]);
  sql(
    "postgres",
    `CREATE ROLE rds_iam NOLOGIN; CREATE ROLE ${ADMIN.user} LOGIN CREATEROLE PASSWORD '${ADMIN.password}';
     GRANT rds_iam TO ${ADMIN.user} WITH ADMIN OPTION;`,
  );
  sql("postgres", `CREATE DATABASE ${ADMIN.database} OWNER ${ADMIN.user}`);
  return {
    port,
    dir,
    ca,
    sql,
    stop() {
      Bun.spawnSync(as([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]), { cwd: dir });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
