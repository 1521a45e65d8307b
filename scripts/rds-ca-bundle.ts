#!/usr/bin/env bun
/**
 * Writes certs/rds-global-bundle.pem, the only CAs the archiver trusts for RDS (the image ships it at the
 * path Terraform's DATABASE_URL names in sslrootcert). Input: AWS's global bundle
 * (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) or any file of PEM certificates;
 * kept: Amazon RDS CA certificates that are valid now. Run it when AWS adds a CA, then review the diff.
 *
 *   bun scripts/rds-ca-bundle.ts INPUT.pem [OUTPUT]
 */
import { X509Certificate } from "node:crypto";

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The Amazon RDS CA certificates of `text` that are valid at `now`, deduplicated, in input order. */
export function rdsCas(text: string, now: Date): X509Certificate[] {
  const seen = new Set<string>();
  return (text.match(PEM) ?? [])
    .map((pem) => new X509Certificate(pem))
    .filter((c) => {
      const valid = new Date(c.validFrom) <= now && now < new Date(c.validTo);
      const rds = /^OU=Amazon RDS$/m.test(c.subject) && /^O=Amazon Web Services\\?, Inc\.$/m.test(c.subject);
      if (!c.ca || !valid || !rds || seen.has(c.fingerprint256)) return false;
      seen.add(c.fingerprint256);
      return true;
    });
}

export function renderBundle(certs: X509Certificate[]): string {
  return certs
    .map(
      (c) =>
        `# ${c.subject.split("\n").find((l) => l.startsWith("CN=")) ?? ""}, until ${c.validTo}\n${c.toString().trim()}\n`,
    )
    .join("");
}

if (import.meta.main) {
  const [input, output = "certs/rds-global-bundle.pem"] = process.argv.slice(2);
  if (!input) {
    console.error("usage: bun scripts/rds-ca-bundle.ts INPUT.pem [OUTPUT]");
    process.exit(2);
  }
  const certs = rdsCas(await Bun.file(input).text(), new Date());
  if (certs.length === 0) {
    console.error(`no valid Amazon RDS CA certificate in ${input}`);
    process.exit(1);
  }
  await Bun.write(output, renderBundle(certs));
  console.log(`${output}: ${certs.length} certificates`);
}
