/**
 * The GitHub workflows: schema-valid (action-validator), every third-party action pinned by commit SHA
 * with a version comment, least privilege per job, and the pins that must agree with the repository.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import pkg from "../../package.json" with { type: "json" };
import { STACK_OUTPUTS } from "../../scripts/deploy/lib.ts";
import { ACCOUNT_SETTINGS, POSTGRES_MAJOR } from "../../terraform/config.ts";
import { ROOT } from "../helpers/shop.ts";
import { dev } from "../infra/helpers.ts";

const DIR = `${ROOT}.github/workflows`;
const VALIDATOR = `${ROOT}node_modules/.bin/action-validator`;
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  env?: Record<string, string>;
  services?: Record<string, { image: string }>;
  permissions?: Record<string, string>;
  steps?: Step[];
  environment?: unknown;
  needs?: string | string[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
}

const texts = Object.fromEntries(files.map((f) => [f, readFileSync(`${DIR}/${f}`, "utf8")]));
const workflows = Object.fromEntries(files.map((f) => [f, Bun.YAML.parse(texts[f] as string) as Workflow]));
/** A GitHub expression as written in the workflows (kept out of string literals that look like templates). */
const ENV_EXPR = `\${{ inputs.environment }}`;
const jobsOf = (f: string) => Object.entries(workflows[f]?.jobs ?? {});

function validate(path: string) {
  const proc = Bun.spawnSync([VALIDATOR, path], { stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode, output: proc.stdout.toString() + proc.stderr.toString() };
}

test("the five workflows exist", () => {
  expect(files.sort()).toEqual(["bench.yml", "ci.yml", "deploy.yml", "plan.yml", "teardown.yml"]);
});

describe("action-validator", () => {
  for (const file of files) {
    test(`${file} is a valid workflow`, () => {
      const { code, output } = validate(`${DIR}/${file}`);
      expect({ code, output: code === 0 ? "" : output }).toEqual({ code: 0, output: "" });
    });
  }

  test("rejects a broken workflow (the validator is not a no-op)", () => {
    const dir = mkdtempSync(`${tmpdir()}/workflow-`);
    writeFileSync(`${dir}/bad.yml`, "name: bad\non: push\njobs:\n  a:\n    steps:\n      - run: echo\n");
    expect(validate(`${dir}/bad.yml`).code).not.toBe(0);
  });
});

describe("action pinning", () => {
  const uses = files.flatMap((f) =>
    (texts[f] as string)
      .split("\n")
      .filter((l) => /^\s*-?\s*uses:/.test(l))
      .map((line) => ({ file: f, line: line.trim() })),
  );

  test("every action is pinned by a full commit SHA with a version comment", () => {
    expect(uses.length).toBeGreaterThan(10);
    const bad = uses.filter(
      ({ line }) => !/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/.test(line),
    );
    expect(bad).toEqual([]);
  });

  test("one action, one SHA and one version across all workflows", () => {
    const pins = new Map<string, Set<string>>();
    for (const { line } of uses) {
      const [, action = "", pin = ""] = line.match(/uses: ([^@]+)@(.+)$/) ?? [];
      pins.set(action, (pins.get(action) ?? new Set()).add(pin));
    }
    const inconsistent = [...pins].filter(([, set]) => set.size > 1).map(([a, set]) => [a, [...set]]);
    expect(inconsistent).toEqual([]);
  });
});

describe("permissions", () => {
  test("every workflow defaults to read-only or nothing, and every job states its own", () => {
    for (const file of files) {
      const top = workflows[file]?.permissions ?? {};
      expect({ file, top: Object.values(top).filter((v) => v !== "read") }).toEqual({ file, top: [] });
      for (const [name, job] of jobsOf(file)) {
        expect({ file, name, declared: job.permissions !== undefined }).toEqual({
          file,
          name,
          declared: true,
        });
      }
    }
  });

  test("id-token: write only in jobs that assume an AWS role, and every such job has it", () => {
    for (const file of files) {
      for (const [name, job] of jobsOf(file)) {
        const oidc = (job.steps ?? []).some((s) =>
          s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
        );
        const idToken = job.permissions?.["id-token"] === "write";
        expect({ file, name, idToken }).toEqual({ file, name, idToken: oidc });
      }
    }
  });

  test("AWS roles come from variables, never from long-lived keys", () => {
    for (const file of files) {
      for (const [, job] of jobsOf(file)) {
        for (const step of job.steps ?? []) {
          if (!step.uses?.startsWith("aws-actions/configure-aws-credentials@")) continue;
          expect(String(step.with?.["role-to-assume"])).toMatch(/^\$\{\{ vars\.AWS_\w+_ROLE_ARN \}\}$/);
          expect(Object.keys(step.with ?? {})).not.toContain("aws-secret-access-key");
        }
      }
    }
  });

  test("write access to pull requests only where the plan comment is posted", () => {
    const writers = files.flatMap((f) =>
      jobsOf(f)
        .filter(([, job]) => job.permissions?.["pull-requests"] === "write")
        .map(([name]) => `${f}:${name}`),
    );
    expect(writers).toEqual(["plan.yml:comment"]);
  });
});

describe("workflow behaviour", () => {
  test("the pinned Bun matches package.json everywhere", () => {
    for (const file of files) {
      for (const [, job] of jobsOf(file)) {
        for (const step of job.steps ?? []) {
          if (step.uses?.startsWith("oven-sh/setup-bun@")) {
            expect(String(step.with?.["bun-version"])).toBe(pkg.engines.bun);
          }
        }
      }
    }
  });

  test("ci cancels superseded runs and caches dependencies", () => {
    const ci = workflows["ci.yml"];
    expect(ci?.concurrency?.["cancel-in-progress"]).toBe(true);
    expect(texts["ci.yml"]).toContain("actions/cache@");
    expect(Object.keys(ci?.on ?? {}).sort()).toEqual(["pull_request", "push"]);
  });

  test("deploys and teardowns of one environment never run at once, nor get cancelled", () => {
    for (const file of ["deploy.yml", "teardown.yml"]) {
      expect(workflows[file]?.concurrency).toEqual({
        group: `deploy-${ENV_EXPR}`,
        "cancel-in-progress": false,
      });
    }
  });

  test("teardown offers only dev, and its script refuses a wrong name or prod before credentials exist", () => {
    const teardown = workflows["teardown.yml"];
    const dispatch = teardown?.on.workflow_dispatch as { inputs: { environment: { options: string[] } } };
    const input = dispatch.inputs;
    expect(input.environment.options).toEqual(["dev"]);
    const confirm = teardown?.jobs.confirm;
    expect(confirm?.permissions).toEqual({ contents: "read" });
    expect(confirm?.steps?.map((x) => x.run).filter(Boolean)).toEqual([
      "bun scripts/deploy/teardown.ts --check",
    ]);
    expect(teardown?.jobs.destroy?.needs).toBe("confirm");
    expect(teardown?.jobs.destroy?.steps?.some((x) => x.run === "bun scripts/deploy/teardown.ts")).toBe(true);
  });

  test("deploy and teardown run in the GitHub environment, so prod approval applies", () => {
    expect(workflows["deploy.yml"]?.jobs.deploy?.environment).toMatchObject({
      name: ENV_EXPR,
    });
    expect(workflows["teardown.yml"]?.jobs.destroy?.environment).toBe(ENV_EXPR);
  });

  test("plan, deploy and teardown synthesize one environment with the account settings from GitHub vars", () => {
    for (const file of ["plan.yml", "deploy.yml", "teardown.yml"]) {
      const job = jobsOf(file).find(([, j]) => j.env?.STACK)?.[1];
      expect(job?.env?.STACK).toMatch(
        /^terraform\/cdktf\.out\/stacks\/\$\{\{ (inputs|matrix)\.environment \}\}$/,
      );
      expect(job?.env?.SHOP_VARS).toBe(`\${{ toJSON(vars) }}`);
      expect(job?.steps?.some((x) => x.run === 'bun run infra:synth "$ENVIRONMENT"')).toBe(true);
    }
    // The names config.ts reads, documented for whoever sets the variables.
    for (const name of ACCOUNT_SETTINGS)
      expect(texts["deploy.yml"] + readFileSync(`${ROOT}docs/delivery.md`, "utf8")).toContain(name);
  });

  test("every Terraform output the deploy steps read exists in the stack", () => {
    expect(Object.keys(dev().tf.output)).toEqual(expect.arrayContaining([...STACK_OUTPUTS]));
  });

  test("workflow YAML stays thin: deploy, plan and teardown steps are one-line calls to scripts", () => {
    for (const file of ["plan.yml", "deploy.yml", "teardown.yml"]) {
      for (const [, job] of jobsOf(file)) {
        for (const step of job.steps ?? []) {
          if (step.run === undefined) continue;
          expect({ file, run: step.run.trim().split("\n").length <= 4 }).toEqual({ file, run: true });
        }
      }
    }
    const deploySteps = workflows["deploy.yml"]?.jobs.deploy?.steps ?? [];
    for (const script of ["prepare", "apply", "rollout", "smoke", "summary"]) {
      expect(deploySteps.some((x) => x.run === `bun scripts/deploy/${script}.ts`)).toBe(true);
    }
    expect(workflows["plan.yml"]?.jobs.plan?.steps?.some((x) => x.run === "bun scripts/deploy/plan.ts")).toBe(
      true,
    );
  });

  test("the image is built and pushed only when prepare says the tag is missing", () => {
    const steps = workflows["deploy.yml"]?.jobs.deploy?.steps ?? [];
    const gated = steps.filter((x) =>
      ["aws-actions/amazon-ecr-login@", "docker/setup-buildx-action@", "docker/build-push-action@"].some(
        (a) => x.uses?.startsWith(a),
      ),
    );
    expect(gated).toHaveLength(3);
    for (const x of gated) expect(x.if).toBe("steps.image.outputs.push == 'true'");
  });

  test("no exit code is piped away, and the deploy never uses a GitHub secret for the admin token", () => {
    for (const file of files)
      expect({ file, tee: /\|\s*tee\b/.test(texts[file] ?? "") }).toEqual({ file, tee: false });
    expect(texts["deploy.yml"]).not.toContain("secrets.");
  });

  test("CI's PostgreSQL is the stacks' major version", () => {
    for (const file of ["ci.yml", "bench.yml"]) {
      for (const [, job] of jobsOf(file)) {
        const pg = job.services?.postgres;
        if (pg)
          expect({ file, image: pg.image }).toEqual({ file, image: `postgres:${POSTGRES_MAJOR}-alpine` });
      }
    }
  });

  test("no untrusted input is expanded inside a shell script", () => {
    // Inputs and PR fields reach `run:` through env, never through ${{ }} text substitution.
    for (const file of files) {
      for (const [, job] of jobsOf(file)) {
        for (const step of job.steps ?? []) {
          expect({
            file,
            run: step.run?.match(
              /\$\{\{\s*(inputs\.ref|github\.event\.pull_request\.(title|body|head\.ref))/,
            )?.[0],
          }).toEqual({
            file,
            run: undefined,
          });
        }
      }
    }
  });
});
