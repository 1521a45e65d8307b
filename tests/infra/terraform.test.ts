import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/free-port.ts";
import { environments } from "../../terraform/config.ts";
import { configured, synth, TEST_SETTINGS } from "./helpers.ts";

const root = join(import.meta.dirname, "..", "..");
const outdir = mkdtempSync(join(tmpdir(), "shop-synth-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const synthesized = (env: string) => join(outdir, "stacks", env, "cdk.tf.json");

// The entry point `bun run infra:synth` runs, writing to a temporary directory instead of terraform/cdktf.out.
let synthRun: { exitCode: number; stderr: string };
beforeAll(() => {
  const run = Bun.spawnSync(["bun", join(root, "terraform", "main.ts")], {
    env: { ...process.env, ...TEST_SETTINGS, CDKTF_OUTDIR: outdir },
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

  test("the bootstrap's local-exec finds scripts/ from wherever the stack is written", () => {
    const tf = JSON.parse(readFileSync(synthesized("dev"), "utf8")) as {
      resource: {
        terraform_data: Record<string, { provisioner: { "local-exec": { working_dir: string } }[] }>;
      };
    };
    const [run] = Object.values(tf.resource.terraform_data);
    const dir = run?.provisioner[0]?.["local-exec"].working_dir ?? "";
    expect(existsSync(join(outdir, "stacks", "dev", dir, "scripts", "deploy", "db-bootstrap.ts"))).toBe(true);
  });

  test("each stack gets its committed provider lock file", () => {
    for (const env of ["dev", "prod"]) {
      expect(readFileSync(join(outdir, "stacks", env, ".terraform.lock.hcl"), "utf8")).toBe(
        readFileSync(join(root, "terraform", "locks", `${env}.terraform.lock.hcl`), "utf8"),
      );
      const tf = JSON.parse(readFileSync(synthesized(env), "utf8")) as {
        terraform: { required_providers: { aws: { version: string } } };
      };
      const lock = readFileSync(join(root, "terraform", "locks", `${env}.terraform.lock.hcl`), "utf8");
      expect(lock).toContain(`version     = "${tf.terraform.required_providers.aws.version}"`);
    }
  });

  const synthWith = (settings: Record<string, string>, ...envs: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "shop-synth-env-"));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SHOP_")));
    const run = Bun.spawnSync(["bun", join(root, "terraform", "main.ts"), ...envs], {
      env: { ...clean, ...settings, CDKTF_OUTDIR: dir },
      stderr: "pipe",
    });
    const read = (env: string) =>
      existsSync(join(dir, "stacks", env, "cdk.tf.json"))
        ? (JSON.parse(readFileSync(join(dir, "stacks", env, "cdk.tf.json"), "utf8")) as {
            terraform: { backend: { s3: { bucket: string } } };
          })
        : undefined;
    const result = {
      exitCode: run.exitCode,
      stderr: run.stderr.toString(),
      dev: read("dev"),
      prod: read("prod"),
    };
    rmSync(dir, { recursive: true, force: true });
    return result;
  };

  test("account settings come from the shell, or from GitHub's vars as SHOP_VARS", () => {
    const run = synthWith({ ...TEST_SETTINGS, SHOP_STATE_BUCKET: "acme-tfstate" });
    expect(run.exitCode).toBe(0);
    expect(run.prod?.terraform.backend.s3.bucket).toBe("acme-tfstate");
    const viaVars = synthWith({
      SHOP_VARS: JSON.stringify({ ...TEST_SETTINGS, SHOP_PROD_STATE_BUCKET: "acme-prod" }),
    });
    expect(viaVars.exitCode).toBe(0);
    expect(viaVars.prod?.terraform.backend.s3.bucket).toBe("acme-prod");
    expect(viaVars.dev?.terraform.backend.s3.bucket).toBe(TEST_SETTINGS.SHOP_STATE_BUCKET);
  });

  test("refuses prod without a certificate, an alarm address and an explicit state bucket; names the variables", () => {
    const run = synthWith({ SHOP_DEV_STATE_BUCKET: "acme-dev" });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("SHOP_PROD_STATE_BUCKET");
    expect(run.stderr).toContain("SHOP_PROD_CERTIFICATE_ARN");
    expect(run.stderr).toContain("SHOP_PROD_ALARM_EMAIL");
    expect(run.prod).toBeUndefined();
    // One environment at a time needs only its own settings.
    const devOnly = synthWith({ SHOP_DEV_STATE_BUCKET: "acme-dev" }, "dev");
    expect(devOnly).toMatchObject({ exitCode: 0, prod: undefined });
    expect(devOnly.dev?.terraform.backend.s3.bucket).toBe("acme-dev");
  });
});

// Terraform itself loads the output and checks it against the AWS provider's schema, then plans it.
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

describe("terraform validate and plan (the terraform CLI: on every machine and in ci.yml)", () => {
  const workdir = mkdtempSync(join(tmpdir(), "shop-tf-validate-"));
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));
  const mirrored = mirroredAwsVersion();
  const tf = (args: string[], env: Record<string, string> = {}) =>
    Bun.spawnSync([terraform ?? "terraform-not-on-path", `-chdir=${workdir}`, ...args, "-no-color"], {
      // An empty CLI config: no credentials helpers or provider overrides from the machine leak in.
      env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", ...env },
    });

  let initialized = false;
  /**
   * The synthesized JSON (of `bun run infra:synth`, or given), adjusted to the mirrored provider; `local`
   * drops the S3 backend (plan only).
   */
  const prepare = (env: string, local = false, json = readFileSync(synthesized(env), "utf8")) => {
    const config = JSON.parse(json) as {
      terraform: { required_providers: { aws: { version: string } }; backend?: unknown };
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
    if (local) delete config.terraform.backend;
    rmSync(join(workdir, "override.tf.json"), { force: true });
    writeFileSync(join(workdir, "cdk.tf.json"), JSON.stringify(config));
    // Both stacks need the same provider: one init (from the mirror it copies a ~700 MB binary).
    if (initialized) return config;
    initialized = true;
    const init = mirrored
      ? tf(["init", "-backend=false", "-input=false", `-plugin-dir=${MIRROR}`])
      : tf(["init", "-backend=false", "-input=false"]);
    expect(init.stderr.toString()).toBe("");
    expect(init.exitCode).toBe(0);
    return config;
  };

  const validateJson = () => {
    const validate = tf(["validate", "-json"]);
    return JSON.parse(validate.stdout.toString()) as {
      valid: boolean;
      diagnostics: { severity: string; summary: string; detail?: string }[];
    };
  };

  // The processor as a Lambda function instead of an ECS service: the function, its mapping, role, pull
  // policy and alarms against the provider's schema, in the same working directory (no second init).
  test("dev with processorMode lambda is valid Terraform for the AWS provider", () => {
    prepare("dev", false, synth(configured({ ...environments.dev, processorMode: "lambda" })).json);
    const result = validateJson();
    expect(
      result.diagnostics.map(({ severity, summary, detail }) => ({ severity, summary, detail })),
    ).toEqual([]);
    expect(result.valid).toBe(true);
  });

  // Prod is validated by its plan below (a plan validates first, and any error that is not a refused
  // connection fails it); one terraform run less keeps CI's time down.
  test("dev is valid Terraform for the AWS provider", () => {
    prepare("dev");
    const validate = tf(["validate", "-json"]);
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

  // Validation checks the schema; a plan also evaluates every expression, the graph and the providers'
  // own plan-time checks. Against an AWS endpoint where nothing listens, only calls to AWS may fail. Prod
  // only: it has every resource type dev has, and more (one plan costs ~7 s of CI).
  test("prod is valid and plans against an unreachable AWS endpoint: the graph walk runs, only AWS calls fail", () => {
    const config = prepare("prod", true);
    const endpoint = `http://127.0.0.1:${freePort()}`;
    writeFileSync(
      join(workdir, "override.tf.json"),
      JSON.stringify({
        provider: {
          aws: {
            access_key: "AKIDEXAMPLE",
            secret_key: "not-a-secret",
            skip_credentials_validation: true,
            skip_requesting_account_id: true,
            skip_metadata_api_check: "true",
            max_retries: 1,
          },
        },
      }),
    );
    const plan = tf(["plan", "-input=false", "-lock=false", "-json", "-var", "image_tag=0123abc"], {
      AWS_ENDPOINT_URL: endpoint,
    });
    const messages = plan.stdout
      .toString()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            change?: { resource: { addr: string } };
            diagnostic?: { severity: string; summary: string; detail?: string; address?: string };
          },
      );
    const errors = messages.filter((m) => m.diagnostic?.severity === "error").map((m) => m.diagnostic);
    const planned = messages
      .filter((m) => m.type === "planned_change")
      .map((m) => m.change?.resource.addr ?? "");
    expect(plan.exitCode).toBe(1);
    // Every error is a refused connection to the fake endpoint, at a data source or an ephemeral resource.
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect({
        at: e?.address,
        refused: `${e?.summary} ${e?.detail}`.includes(`${endpoint.slice(7)}: connect: connection refused`),
      }).toEqual({
        at: e?.address,
        refused: true,
      });
      expect(e?.address).toMatch(/^(data|ephemeral)\./);
    }
    // Everything that does not wait on those reads was planned, across the stack's constructs.
    const managed = Object.entries(config.resource).flatMap(([type, byId]) =>
      Object.keys(byId).map((id) => `${type}.${id}`),
    );
    expect(planned.every((a) => managed.includes(a))).toBe(true);
    for (const type of [
      "aws_vpc",
      "aws_ecr_repository",
      "aws_dynamodb_table",
      "aws_sqs_queue",
      "aws_sns_topic_policy",
      "aws_security_group",
      "aws_lb_target_group",
      "aws_cloudwatch_metric_alarm",
      "aws_vpc_endpoint",
    ]) {
      expect({ type, planned: planned.some((a) => a.startsWith(`${type}.`)) }).toEqual({
        type,
        planned: true,
      });
    }
    expect(planned.length).toBeGreaterThan(managed.length / 3);
  });
});
