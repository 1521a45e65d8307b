/**
 * The deploy, plan and teardown steps (scripts/deploy/*.ts) run as the workflows run them, with fake
 * `aws`, `terraform` and `docker` first on PATH that record every call and answer from canned rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { lambdaPlatform, platformDigest } from "../../scripts/deploy/lambda-image.ts";
import { ROOT, startTestShop, type TestShop } from "../helpers/shop.ts";
import type { Answer, Rule } from "./fake-cli.ts";

const FAKE = join(import.meta.dirname, "fake-cli.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Call {
  tool: string;
  args: string[];
}

/** A scratch directory with the fakes, the rules, a stack directory and the runner's output files. */
function world(rules: Rule[]) {
  const dir = mkdtempSync(join(tmpdir(), "shop-deploy-step-"));
  dirs.push(dir);
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["aws", "terraform", "docker"]) {
    const path = join(bin, tool);
    writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" ${tool} "$@"\n`);
    chmodSync(path, 0o755);
  }
  writeFileSync(join(dir, "rules.json"), JSON.stringify(rules));
  const stack = join(dir, "stack");
  mkdirSync(stack);
  const files = { output: join(dir, "github-output"), summary: join(dir, "github-summary") };
  writeFileSync(files.output, "");
  writeFileSync(files.summary, "");
  return {
    dir,
    stack,
    async run(script: string, env: Record<string, string> = {}, args: string[] = []) {
      const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "deploy", script), ...args], {
        cwd: dir,
        env: {
          PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
          FAKE_DIR: dir,
          GITHUB_OUTPUT: files.output,
          GITHUB_STEP_SUMMARY: files.summary,
          STACK: stack,
          ROLLOUT_POLL_S: "0",
          ...env,
        },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      return { code, stdout, stderr };
    },
    calls: (): Call[] =>
      existsSync(join(dir, "calls.jsonl"))
        ? readFileSync(join(dir, "calls.jsonl"), "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as Call)
        : [],
    outputs: () =>
      Object.fromEntries(
        readFileSync(files.output, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      ),
    summary: () => readFileSync(files.summary, "utf8"),
  };
}

const ok = (stdout = ""): Answer => ({ stdout });
const rule = (tool: string, has: string[], ...answers: Answer[]): Rule => ({ tool, has, answers });
const json = (value: unknown) => ok(JSON.stringify(value));

const REPO = "123456789012.dkr.ecr.us-west-2.amazonaws.com/shop-dev";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const ROLES = ["api", "processor", "bidder", "broadcaster", "archiver"];
const td = (role: string, rev: number) =>
  `arn:aws:ecs:us-west-2:123456789012:task-definition/shop-dev-${role}:${rev}`;

function outputs(extra: Record<string, unknown> = {}) {
  const values = {
    api_url: "http://127.0.0.1:1",
    ws_url: "ws://127.0.0.1:1/ws/items",
    ecr_repository_url: REPO,
    cluster_name: "shop-dev",
    service_names: Object.fromEntries(ROLES.map((r) => [r, `shop-dev-${r}`])),
    task_definition_arns: Object.fromEntries(ROLES.map((r) => [r, td(r, 7)])),
    admin_token_secret_arn:
      "arn:aws:secretsmanager:us-west-2:123456789012:secret:shop-dev/admin-token-AbCdEf",
    ...extra,
  };
  return rule(
    "terraform",
    ["output", "-json"],
    json(Object.fromEntries(Object.entries(values).map(([k, value]) => [k, { value }]))),
  );
}

describe("prepare: the image is built and pushed only when its tag is not in ECR", () => {
  const base = [
    rule("terraform", ["init"], ok()),
    rule("terraform", ["output", "-raw", "ecr_repository_url"], ok(REPO)),
  ];

  test("tag exists → push=false, nothing built", async () => {
    const w = world([
      ...base,
      rule("aws", ["ecr", "describe-images"], json({ imageDetails: [{ imageTags: [SHA] }] })),
    ]);
    const r = await w.run("prepare.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(0);
    expect(w.outputs()).toEqual({ repository: REPO, image: `${REPO}:${SHA}`, push: "false" });
    const describe = w.calls().find((c) => c.tool === "aws");
    expect(describe?.args).toEqual([
      "ecr",
      "describe-images",
      "--repository-name",
      "shop-dev",
      "--image-ids",
      `imageTag=${SHA}`,
      "--output",
      "json",
    ]);
    expect(w.calls().filter((c) => c.tool === "docker")).toEqual([]);
  });

  test("tag missing → push=true", async () => {
    const w = world([
      ...base,
      rule("aws", ["ecr", "describe-images"], {
        code: 254,
        stderr: "An error occurred (ImageNotFoundException) when calling the DescribeImages operation",
      }),
    ]);
    const r = await w.run("prepare.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(0);
    expect(w.outputs().push).toBe("true");
  });

  test("any other answer from ECR fails the step instead of guessing", async () => {
    const w = world([
      ...base,
      rule("aws", ["ecr", "describe-images"], {
        code: 254,
        stderr: "An error occurred (AccessDeniedException)",
      }),
    ]);
    const r = await w.run("prepare.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("::error::cannot tell whether");
    expect(w.outputs().push).toBeUndefined();
  });

  test("a new environment gets its ECR resources first, by target", async () => {
    const w = world([
      rule("terraform", ["init"], ok()),
      rule(
        "terraform",
        ["output", "-raw", "ecr_repository_url"],
        { code: 1, stderr: "No outputs found" },
        ok(REPO),
      ),
      rule("terraform", ["apply"], ok()),
      rule("aws", ["ecr", "describe-images"], { code: 254, stderr: "ImageNotFoundException" }),
    ]);
    writeFileSync(
      join(w.stack, "cdk.tf.json"),
      JSON.stringify({
        resource: {
          aws_ecr_repository: { ecr_repo_1: {} },
          aws_ecr_lifecycle_policy: { ecr_lifecycle_2: {} },
          aws_vpc: { v: {} },
        },
      }),
    );
    const r = await w.run("prepare.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(0);
    const apply = w.calls().find((c) => c.args.includes("apply"));
    expect(apply?.args.filter((a) => a.startsWith("-target=")).sort()).toEqual([
      "-target=aws_ecr_lifecycle_policy.ecr_lifecycle_2",
      "-target=aws_ecr_repository.ecr_repo_1",
    ]);
    expect(w.outputs().push).toBe("true");
  });
});

describe("apply: plan and apply with the image tag; the Lambda processor first gets its single-platform tag", () => {
  const INDEX = "application/vnd.oci.image.index.v1+json";
  const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  const ARM = `sha256:${"a".repeat(64)}`;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX,
    manifests: [
      { digest: `sha256:${"b".repeat(64)}`, platform: { os: "linux", architecture: "amd64" } },
      { digest: ARM, platform: { os: "linux", architecture: "arm64" } },
      { digest: `sha256:${"c".repeat(64)}`, platform: { os: "unknown", architecture: "unknown" } },
    ],
  });
  const armManifest = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, layers: [] });
  const image = (body: string, mediaType: string) =>
    json({ images: [{ imageManifest: body, imageManifestMediaType: mediaType }], failures: [] });
  const notFound = json({ images: [], failures: [{ failureCode: "ImageNotFound", failureReason: "none" }] });
  const terraform = [rule("terraform", ["plan"], ok()), rule("terraform", ["apply"], ok()), outputs()];
  const stackWith = (w: ReturnType<typeof world>, resource: Record<string, unknown>) =>
    writeFileSync(join(w.stack, "cdk.tf.json"), JSON.stringify({ resource }));
  const lambdaStack = {
    aws_lambda_function: { "lambda-processor_function_1": { architectures: ["arm64"] } },
  };
  const awsCalls = (w: ReturnType<typeof world>) => w.calls().filter((c) => c.tool === "aws");

  test("an ECS-only stack: plan, apply, outputs; ECR is not touched", async () => {
    const w = world(terraform);
    stackWith(w, { aws_ecs_service: { s: {} } });
    const r = await w.run("apply.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(0);
    expect(awsCalls(w)).toEqual([]);
    expect(w.calls().find((c) => c.args.includes("plan"))?.args).toContain(`-var=image_tag=${SHA}`);
    expect(w.outputs().services).toBe(ROLES.map((r) => `shop-dev-${r}`).join(" "));
  });

  test("lambda mode: the index's linux/arm64 manifest is tagged <sha>-lambda before the plan", async () => {
    const w = world([
      rule("aws", ["batch-get-image", `imageTag=${SHA}-lambda`], notFound),
      rule("aws", ["batch-get-image", `imageTag=${SHA}`], image(index, INDEX)),
      rule("aws", ["batch-get-image", `imageDigest=${ARM}`], image(armManifest, MANIFEST)),
      rule("aws", ["put-image"], ok("{}")),
      ...terraform,
    ]);
    stackWith(w, lambdaStack);
    const r = await w.run("apply.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(0);
    const put = awsCalls(w).find((c) => c.args.includes("put-image"));
    expect(put?.args).toEqual([
      "ecr",
      "put-image",
      "--repository-name",
      "shop-dev",
      "--image-tag",
      `${SHA}-lambda`,
      "--image-manifest",
      armManifest,
      "--image-manifest-media-type",
      MANIFEST,
      "--output",
      "json",
    ]);
    const order = w
      .calls()
      .map((c) => (c.args.includes("put-image") ? "put" : c.args.includes("plan") ? "plan" : ""));
    expect(order.indexOf("put")).toBeLessThan(order.indexOf("plan"));
  });

  test("lambda mode, tag already there (a re-run): nothing is put", async () => {
    const w = world([
      rule("aws", ["batch-get-image", `imageTag=${SHA}-lambda`], image(armManifest, MANIFEST)),
      ...terraform,
    ]);
    stackWith(w, lambdaStack);
    expect((await w.run("apply.ts", { IMAGE_TAG: SHA })).code).toBe(0);
    expect(awsCalls(w).filter((c) => c.args.includes("put-image"))).toEqual([]);
  });

  test("lambda mode, no image for the function's platform: fails before anything is planned", async () => {
    const amd64Only = JSON.stringify({
      manifests: [{ digest: `sha256:${"b".repeat(64)}`, platform: { os: "linux", architecture: "amd64" } }],
    });
    const w = world([
      rule("aws", ["batch-get-image", `imageTag=${SHA}-lambda`], notFound),
      rule("aws", ["batch-get-image", `imageTag=${SHA}`], image(amd64Only, INDEX)),
      ...terraform,
    ]);
    stackWith(w, lambdaStack);
    const r = await w.run("apply.ts", { IMAGE_TAG: SHA });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("has no linux/arm64 image for the function");
    expect(w.calls().filter((c) => c.args.includes("plan"))).toEqual([]);
  });

  test("the platform follows the function's architecture; no function, no platform", () => {
    expect(lambdaPlatform({ resource: lambdaStack })).toBe("arm64");
    expect(lambdaPlatform({ resource: { aws_lambda_function: { f: { architectures: ["x86_64"] } } } })).toBe(
      "amd64",
    );
    expect(lambdaPlatform({ resource: { aws_ecs_service: {} } })).toBeUndefined();
    expect(platformDigest(JSON.parse(index), "arm64")).toBe(ARM);
    expect(platformDigest(JSON.parse(index), "amd64")).toBe(`sha256:${"b".repeat(64)}`);
  });
});

describe("rollout: each service's PRIMARY deployment must run the new task definition, COMPLETED", () => {
  const service = (role: string, deployments: Record<string, unknown>[]) => ({
    serviceName: `shop-dev-${role}`,
    deployments,
  });
  const primary = (role: string, rev: number, rolloutState: string, extra: Record<string, unknown> = {}) => ({
    status: "PRIMARY",
    taskDefinition: td(role, rev),
    rolloutState,
    runningCount: 1,
    desiredCount: 1,
    ...extra,
  });
  const describeAll = (f: (role: string) => Record<string, unknown>[]) =>
    json({ services: ROLES.map((r) => service(r, f(r))), failures: [] });

  test("all COMPLETED on the new revision → success, one line per service in the summary", async () => {
    const w = world([
      outputs(),
      rule(
        "aws",
        ["describe-services"],
        describeAll((r) => [primary(r, 7, "IN_PROGRESS")]),
        describeAll((r) => [primary(r, 7, "COMPLETED")]),
      ),
    ]);
    const r = await w.run("rollout.ts");
    expect(r.code).toBe(0);
    expect(w.calls().filter((c) => c.args.includes("describe-services"))).toHaveLength(2);
    for (const role of ROLES)
      expect(w.summary()).toContain(`| shop-dev-${role} | shop-dev-${role}:7 COMPLETED`);
  });

  test("the circuit breaker rolled the archiver back → fails, naming the service and the reason", async () => {
    const w = world([
      outputs(),
      rule(
        "aws",
        ["describe-services"],
        describeAll((r) =>
          r === "archiver"
            ? [
                primary(r, 6, "COMPLETED"),
                {
                  status: "ACTIVE",
                  taskDefinition: td(r, 7),
                  rolloutState: "FAILED",
                  rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
                },
              ]
            : [primary(r, 7, "COMPLETED")],
        ),
      ),
    ]);
    const r = await w.run("rollout.ts");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "::error::deploy not rolled out: shop-dev-archiver: rolled back: PRIMARY runs shop-dev-archiver:6, not shop-dev-archiver:7: ECS deployment circuit breaker: tasks failed to start.",
    );
  });

  test("a rollback whose failed deployment is already gone still fails (PRIMARY on another revision)", async () => {
    const w = world([
      outputs(),
      rule(
        "aws",
        ["describe-services"],
        describeAll((r) => [primary(r, r === "api" ? 6 : 7, "COMPLETED")]),
      ),
    ]);
    const r = await w.run("rollout.ts");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("shop-dev-api: rolled back: PRIMARY runs shop-dev-api:6, not shop-dev-api:7");
  });

  test("rolloutState FAILED on the new revision → fails naming the service", async () => {
    const w = world([
      outputs(),
      rule(
        "aws",
        ["describe-services"],
        describeAll((r) => [
          primary(r, 7, r === "bidder" ? "FAILED" : "COMPLETED", {
            rolloutStateReason: "health checks failed",
          }),
        ]),
      ),
    ]);
    const r = await w.run("rollout.ts");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("shop-dev-bidder: rollout FAILED: health checks failed");
  });

  test("still IN_PROGRESS at the deadline → fails naming what is pending", async () => {
    const w = world([
      outputs(),
      rule(
        "aws",
        ["describe-services"],
        describeAll((r) => [primary(r, 7, r === "processor" ? "IN_PROGRESS" : "COMPLETED")]),
      ),
    ]);
    const r = await w.run("rollout.ts", { ROLLOUT_TIMEOUT_S: "0" });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "rollout not complete after 0 s: shop-dev-processor: shop-dev-processor:7 IN_PROGRESS",
    );
  });
});

describe("smoke: through the load balancer with the token the services were given", () => {
  const TOKEN = "tokenFromSecretsManager0123456789abcdefABCDEF";
  let shop: TestShop;
  beforeAll(async () => {
    shop = await startTestShop(["all"], { ADMIN_TOKEN: TOKEN, PAYMENT_SIM_MS: "0" });
  });
  afterAll(() => shop?.stop());

  const smokeWorld = (secret: Answer) =>
    world([
      outputs({ api_url: shop.url, ws_url: shop.url.replace("http", "ws") }),
      rule("aws", ["secretsmanager", "get-secret-value"], secret),
    ]);

  test("reads the token from Secrets Manager, masks it first, passes; the output is kept for the summary", async () => {
    const w = smokeWorld(ok(`${TOKEN}\n`));
    const r = await w.run("smoke.ts");
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toMatchObject({ code: 0, stderr: "" });
    const get = w.calls().find((c) => c.tool === "aws");
    expect(get?.args).toEqual([
      "secretsmanager",
      "get-secret-value",
      "--secret-id",
      "arn:aws:secretsmanager:us-west-2:123456789012:secret:shop-dev/admin-token-AbCdEf",
      "--query",
      "SecretString",
      "--output",
      "text",
    ]);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(`::add-mask::${TOKEN}`);
    expect(lines.slice(1).join("\n")).not.toContain(TOKEN);
    const kept = readFileSync(join(w.dir, "smoke.txt"), "utf8");
    expect(kept).toContain("smoke: all 5 steps passed");
    expect(kept).not.toContain(TOKEN);
  });

  test("a token other than the deployed one (the old secrets.ADMIN_TOKEN) fails the job", async () => {
    const w = smokeWorld(ok("some-other-token-0123456789\n"));
    const r = await w.run("smoke.ts");
    expect(r.code).toBe(1);
    expect(readFileSync(join(w.dir, "smoke.txt"), "utf8")).toMatch(/FAIL\s+cart-checkout.*403/);
    expect(r.stdout).toContain("::error::smoke test failed (exit 1)");
  });

  test("Secrets Manager unreadable → fails before any request", async () => {
    const w = smokeWorld({ code: 254, stderr: "AccessDeniedException" });
    const r = await w.run("smoke.ts");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("::error::reading the admin token from Secrets Manager failed");
    expect(existsSync(join(w.dir, "smoke.txt"))).toBe(false);
  });

  test("a failing smoke step fails the job (nothing pipes its exit code away)", async () => {
    const dead = world([
      outputs({ api_url: "http://127.0.0.1:9", ws_url: "ws://127.0.0.1:9" }),
      rule("aws", ["secretsmanager", "get-secret-value"], ok(TOKEN)),
    ]);
    const r = await dead.run("smoke.ts", { SMOKE_TIMEOUT_MS: "1000" });
    expect(r.code).toBe(1);
    expect(readFileSync(join(dead.dir, "smoke.txt"), "utf8")).toContain(
      "smoke: FAILED steps: health, product, cart-checkout, async-order, bid-websocket",
    );
  });
});

describe("teardown: complete or refused before touching AWS", () => {
  test("prod is refused, whatever is typed", async () => {
    const w = world([]);
    const r = await w.run("teardown.ts", { ENVIRONMENT: "prod", CONFIRM: "prod" });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("::error::prod has deletion protection: a workflow never tears it down");
    expect(w.calls()).toEqual([]);
  });

  test("a wrong confirmation is refused", async () => {
    const w = world([]);
    const r = await w.run("teardown.ts", { ENVIRONMENT: "dev", CONFIRM: "prod" });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('typed "prod", expected "dev": nothing destroyed');
    expect(w.calls()).toEqual([]);
  });

  test("--check decides without calling anything", async () => {
    const w = world([]);
    expect((await w.run("teardown.ts", { ENVIRONMENT: "dev", CONFIRM: "dev" }, ["--check"])).code).toBe(0);
    expect((await w.run("teardown.ts", { ENVIRONMENT: "prod", CONFIRM: "prod" }, ["--check"])).code).toBe(1);
    expect(w.calls()).toEqual([]);
  });

  test("dev, confirmed: init then destroy", async () => {
    const w = world([rule("terraform", ["init"], ok()), rule("terraform", ["destroy"], ok())]);
    const r = await w.run("teardown.ts", { ENVIRONMENT: "dev", CONFIRM: "dev" });
    expect(r.code).toBe(0);
    expect(w.calls().map((c) => c.args[1])).toEqual(["init", "destroy"]);
    expect(w.calls()[1]?.args).toContain("-auto-approve");
  });

  test("a failed destroy fails the job", async () => {
    const w = world([
      rule("terraform", ["init"], ok()),
      rule("terraform", ["destroy"], { code: 1, stderr: "Error: deleting" }),
    ]);
    const r = await w.run("teardown.ts", { ENVIRONMENT: "dev", CONFIRM: "dev" });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("::error::terraform destroy failed (exit 1)");
  });
});

describe("plan: read-only role, so no state lock", () => {
  test("plans with -lock=false and writes what the comment needs", async () => {
    const w = world([
      rule("terraform", ["init"], ok()),
      rule("terraform", ["plan"], { code: 2, stdout: "Plan: 3 to add, 0 to change, 0 to destroy." }),
      rule("terraform", ["show"], ok("Terraform will perform the following actions:\n  + resource")),
    ]);
    const r = await w.run("plan.ts", { ENVIRONMENT: "dev", IMAGE_TAG: SHA });
    expect(r.code).toBe(0);
    const plan = w.calls().find((c) => c.args.includes("plan"));
    expect(plan?.args).toContain("-lock=false");
    expect(plan?.args).toContain(`-var=image_tag=${SHA}`);
    expect(readFileSync(join(w.dir, "plan-dev", "exitcode"), "utf8")).toBe("2\n");
    expect(readFileSync(join(w.dir, "plan-dev", "plan.txt"), "utf8")).toContain("+ resource");
  });

  test("a failed plan fails the step and keeps its log", async () => {
    const w = world([
      rule("terraform", ["init"], ok()),
      rule("terraform", ["plan"], { code: 1, stderr: "Error: AccessDenied" }),
    ]);
    const r = await w.run("plan.ts", { ENVIRONMENT: "prod", IMAGE_TAG: SHA });
    expect(r.code).toBe(1);
    expect(readFileSync(join(w.dir, "plan-prod", "plan.log"), "utf8")).toContain("AccessDenied");
    expect(readFileSync(join(w.dir, "plan-prod", "exitcode"), "utf8")).toBe("1\n");
  });
});

describe("db-bootstrap: Terraform's gate before the archiver starts", () => {
  const env = {
    CLUSTER: "arn:aws:ecs:us-west-2:123456789012:cluster/shop-dev",
    TASK_DEFINITION: "arn:aws:ecs:us-west-2:123456789012:task-definition/shop-dev-db-bootstrap:3",
    SUBNETS: "subnet-a,subnet-b",
    SECURITY_GROUP: "sg-1",
    AWS_REGION: "us-west-2",
    LOG_GROUP: "/ecs/shop-dev/db-bootstrap",
  };
  const TASK = "arn:aws:ecs:us-west-2:123456789012:task/shop-dev/abc123";
  const started = rule("aws", ["run-task"], json({ tasks: [{ taskArn: TASK }], failures: [] }));
  const waited = rule("aws", ["wait", "tasks-stopped"], ok());

  test("runs the task in the private subnets and succeeds when it exits 0", async () => {
    const w = world([
      started,
      waited,
      rule(
        "aws",
        ["describe-tasks"],
        json({ tasks: [{ taskArn: TASK, containers: [{ name: "shop", exitCode: 0 }] }] }),
      ),
    ]);
    const r = await w.run("db-bootstrap.ts", env);
    expect(r.code).toBe(0);
    const run = w.calls()[0]?.args ?? [];
    expect(JSON.parse(run[run.indexOf("--network-configuration") + 1] ?? "")).toEqual({
      awsvpcConfiguration: {
        subnets: ["subnet-a", "subnet-b"],
        securityGroups: ["sg-1"],
        assignPublicIp: "DISABLED",
      },
    });
  });

  test("a non-zero exit fails the apply, with the task's reason and its log", async () => {
    const w = world([
      started,
      waited,
      rule(
        "aws",
        ["describe-tasks"],
        json({
          tasks: [
            {
              taskArn: TASK,
              stoppedReason: "Essential container in task exited",
              containers: [{ name: "shop", exitCode: 1 }],
            },
          ],
        }),
      ),
      rule("aws", ["logs", "get-log-events"], ok("shop: permission denied to create role\n")),
    ]);
    const r = await w.run("db-bootstrap.ts", env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("shop: permission denied to create role");
    expect(r.stdout).toContain(
      "::error::database bootstrap failed: exit 1 (Essential container in task exited)",
    );
    expect(w.calls().at(-1)?.args).toContain("db-bootstrap/shop/abc123");
  });
});
