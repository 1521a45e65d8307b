/** How the archive reads DATABASE_URL and DATABASE_AUTH, and what `shop db-bootstrap` accepts. */
import { describe, expect, test } from "bun:test";
import { bootstrapStatements } from "../../src/adapters/postgres/bootstrap.ts";
import { connectionConfig, passwordSource } from "../../src/adapters/postgres/connection.ts";
import { parseArgs, UsageError } from "../../src/cli/args.ts";

describe("connectionConfig", () => {
  test("the URL's password is kept; a password source replaces it (pg's own parsing would drop it)", async () => {
    expect(connectionConfig("postgres://u:secret@db:5433/shop")).toMatchObject({
      user: "u",
      password: "secret",
      host: "db",
      port: 5433,
      database: "shop",
    });
    expect(connectionConfig("postgres://u@db/shop").password).toBeUndefined();
    const source = async () => "token";
    expect(connectionConfig("postgres://u:secret@db/shop", source).password).toBe(source);
  });

  test("sslmode=verify-full with sslrootcert: the file's CAs, verified", () => {
    const ca = `${import.meta.dirname}/../../certs/rds-global-bundle.pem`;
    const config = connectionConfig(`postgres://u@db/shop?sslmode=verify-full&sslrootcert=${ca}`);
    expect(typeof config.ssl).toBe("object");
    const ssl = config.ssl as { ca?: string; rejectUnauthorized?: boolean };
    expect(ssl.ca).toContain("BEGIN CERTIFICATE");
    expect(ssl.rejectUnauthorized).not.toBe(false);
  });
});

describe("passwordSource", () => {
  test("password auth: none (the URL's or PGPASSWORD); iam needs a region, a host and a user", () => {
    expect(passwordSource("password", "postgres://u@db/shop", undefined)).toBeUndefined();
    expect(() => passwordSource("iam", "postgres://u@db/shop", undefined)).toThrow("AWS_REGION");
    expect(() => passwordSource("iam", "postgres://db/shop", "us-west-2")).toThrow("a host and a user");
    expect(typeof passwordSource("iam", "postgres://u@db/shop", "us-west-2")).toBe("function");
  });
});

describe("db-bootstrap", () => {
  test("statements for valid identifiers only, rds_iam only with --iam", () => {
    const plain = bootstrapStatements({ user: "shop_app", schema: "archive", iam: false });
    expect(plain.some((s) => s.includes("rds_iam"))).toBe(false);
    expect(bootstrapStatements({ user: "shop_app", schema: "archive", iam: true })).toContain(
      "GRANT rds_iam TO shop_app",
    );
    expect(() => bootstrapStatements({ user: "x; DROP TABLE y", schema: "archive", iam: false })).toThrow(
      "not a lower-case SQL identifier",
    );
    expect(() => bootstrapStatements({ user: "shop_app", schema: "Archive", iam: false })).toThrow();
  });

  test("command line: --user NAME [--iam]", () => {
    expect(parseArgs(["db-bootstrap", "--user", "shop_app", "--iam"])).toEqual({
      kind: "db-bootstrap",
      user: "shop_app",
      iam: true,
    });
    expect(parseArgs(["db-bootstrap", "--user=app"])).toEqual({
      kind: "db-bootstrap",
      user: "app",
      iam: false,
    });
    expect(() => parseArgs(["db-bootstrap"])).toThrow(UsageError);
    expect(() => parseArgs(["db-bootstrap", "--user", "a", "--force"])).toThrow(UsageError);
  });
});
