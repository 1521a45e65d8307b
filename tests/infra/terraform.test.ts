import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const outdir = mkdtempSync(join(tmpdir(), "shop-synth-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const synthesized = (env: string) => join(outdir, "stacks", env, "cdk.tf.json");

// The entry point `bun run infra:synth` runs, writing to a temporary directory instead of terraform/cdktf.out.
let synthRun: { exitCode: number; stderr: string };
beforeAll(() => {
  const run = Bun.spawnSync(["bun", join(root, "terraform", "main.ts")], {
    env: { ...process.env, CDKTF_OUTDIR: outdir },
    stderr: "pipe",
  });
  synthRun = { exitCode: run.exitCode, stderr: run.stderr.toString() };
});

describe("bun run infra:synth", () => {
  test("writes plain Terraform JSON for dev and prod", () => {
    expect(synthRun).toEqual({ exitCode: 0, stderr: "" });
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as { stacks: object };
    expect(Object.keys(manifest.stacks).sort()).toEqual(["dev", "prod"]);
    for (const env of ["dev", "prod"]) {
      const tf = JSON.parse(readFileSync(synthesized(env), "utf8")) as { terraform: { backend: unknown } };
      expect(tf.terraform.backend).toMatchObject({ s3: { key: `shop/${env}/terraform.tfstate` } });
    }
  });

  test("account settings come from the shell", () => {
    const dir = mkdtempSync(join(tmpdir(), "shop-synth-env-"));
    try {
      const run = Bun.spawnSync(["bun", join(root, "terraform", "main.ts")], {
        env: { ...process.env, CDKTF_OUTDIR: dir, SHOP_STATE_BUCKET: "acme-tfstate" },
      });
      expect(run.exitCode).toBe(0);
      const tf = JSON.parse(readFileSync(join(dir, "stacks", "prod", "cdk.tf.json"), "utf8")) as {
        terraform: { backend: { s3: { bucket: string } } };
      };
      expect(tf.terraform.backend.s3.bucket).toBe("acme-tfstate");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Optional step from the issue: when the terraform CLI is installed, let Terraform itself load the output and
// check it against the AWS provider's schema. Without the CLI there is nothing to run, so it is skipped.
const terraform = Bun.which("terraform");

/**
 * A filesystem mirror of hashicorp/aws, for machines without registry access. When its provider is older than
 * the pinned one, arguments that only exist in the newer major are removed from the copy being validated
 * (each listed here), and their presence in the real output is asserted by stack.test.ts.
 */
const MIRROR = process.env.TF_PLUGIN_DIR ?? "/opt/tf-plugins";
const NEWER_THAN_V5: Record<string, string[]> = {
  aws_elasticache_replication_group: ["auth_token_wo", "auth_token_wo_version"],
};

function mirroredAwsVersion(): string | undefined {
  const dir = join(MIRROR, "registry.terraform.io", "hashicorp", "aws");
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).sort().at(-1);
}

describe.skipIf(!terraform)("terraform validate (terraform CLI present)", () => {
  const workdir = mkdtempSync(join(tmpdir(), "shop-tf-validate-"));
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));
  const mirrored = mirroredAwsVersion();
  const tf = (...args: string[]) =>
    Bun.spawnSync([terraform ?? "terraform", `-chdir=${workdir}`, ...args, "-no-color"], {
      // An empty CLI config: no credentials helpers or provider overrides from the machine leak in.
      env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1" },
    });

  const prepare = (env: string) => {
    const config = JSON.parse(readFileSync(synthesized(env), "utf8")) as {
      terraform: { required_providers: { aws: { version: string } } };
      resource: Record<string, Record<string, Record<string, unknown>>>;
    };
    if (mirrored) {
      config.terraform.required_providers.aws.version = mirrored;
      if (Number(mirrored.split(".")[0]) < 6) {
        for (const [type, args] of Object.entries(NEWER_THAN_V5)) {
          for (const body of Object.values(config.resource[type] ?? {})) for (const a of args) delete body[a];
        }
      }
    }
    writeFileSync(join(workdir, "cdk.tf.json"), JSON.stringify(config));
  };

  test.each(["dev", "prod"])("%s is valid Terraform for the AWS provider", (env) => {
    prepare(env);
    const init = mirrored
      ? tf("init", "-backend=false", "-input=false", `-plugin-dir=${MIRROR}`)
      : tf("init", "-backend=false", "-input=false");
    expect(init.stderr.toString()).toBe("");
    expect(init.exitCode).toBe(0);
    const validate = tf("validate", "-json");
    const result = JSON.parse(validate.stdout.toString()) as {
      valid: boolean;
      diagnostics: { severity: string; summary: string; detail?: string }[];
    };
    // Only the message: each diagnostic also carries the whole JSON file as its source snippet.
    expect(
      result.diagnostics.map(({ severity, summary, detail }) => ({ severity, summary, detail })),
    ).toEqual([]);
    expect(result.valid).toBe(true);
  });
});
