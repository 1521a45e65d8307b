/**
 * The RDS CA bundle the image ships (certs/rds-global-bundle.pem): only Amazon RDS certificate
 * authorities, all valid today, covering the regions the stacks deploy to; and the script that
 * regenerates it keeps exactly those.
 */
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rdsCas, renderBundle } from "../../scripts/rds-ca-bundle.ts";
import { environments } from "../../terraform/config.ts";
import { ROOT } from "../helpers/shop.ts";
import { makeCa } from "../infra/postgres-tls.ts";

const bundle = readFileSync(join(ROOT, "certs", "rds-global-bundle.pem"), "utf8");
const certs = (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
  (pem) => new X509Certificate(pem),
);

describe("certs/rds-global-bundle.pem", () => {
  test("holds only Amazon RDS CAs, each valid now, none twice", () => {
    expect(certs.length).toBeGreaterThan(20);
    const now = new Date();
    for (const c of certs) {
      expect({ subject: c.subject, ca: c.ca, rds: /^OU=Amazon RDS$/m.test(c.subject) }).toEqual({
        subject: c.subject,
        ca: true,
        rds: true,
      });
      expect(new Date(c.validTo).getTime()).toBeGreaterThan(now.getTime());
    }
    expect(new Set(certs.map((c) => c.fingerprint256)).size).toBe(certs.length);
  });

  test("has the root of the default server CA (rds-ca-rsa2048-g1) for every region the stacks use", () => {
    for (const env of Object.values(environments)) {
      expect(certs.some((c) => c.subject.includes(`CN=Amazon RDS ${env.region} Root CA RSA2048 G1`))).toBe(
        true,
      );
    }
  });

  test("is what scripts/rds-ca-bundle.ts writes from it (the script keeps it as it is)", () => {
    expect(renderBundle(rdsCas(bundle, new Date()))).toBe(bundle);
  });
});

describe("scripts/rds-ca-bundle.ts", () => {
  test("drops certificates that are not Amazon RDS CAs, expired ones and duplicates", () => {
    const dir = mkdtempSync(join(tmpdir(), "rds-ca-"));
    try {
      const other = readFileSync(makeCa(dir, "not-rds").certFile, "utf8");
      const first = certs[0]?.toString() ?? "";
      const input = [first, other, first].join("\n");
      expect(rdsCas(input, new Date()).map((c) => c.fingerprint256)).toEqual([
        certs[0]?.fingerprint256 ?? "missing",
      ]);
      expect(rdsCas(first, new Date("2200-01-01T00:00:00Z"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
