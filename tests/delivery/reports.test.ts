/** The two report renderers the workflows call: the PR plan comment and the nightly bench comparison. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  compareFigure,
  type Figure,
  readResults,
  renderReport,
  type ScenarioResult,
} from "../../scripts/bench-compare.ts";
import { COMMENT_BUDGET, condense, renderComment, summaryLine } from "../../scripts/plan-comment.ts";
import { ROOT } from "../helpers/shop.ts";

const PLAN = `aws_sqs_queue.orders: Refreshing state... [id=https://sqs/orders]
data.aws_iam_policy_document.x: Reading...
data.aws_iam_policy_document.x: Read complete after 0s [id=123]

Terraform used the selected providers to generate the following execution plan.

Terraform will perform the following actions:

  # aws_ecs_service.api will be updated in-place
  ~ resource "aws_ecs_service" "api" {
      ~ task_definition = "shop-api:4" -> (known after apply)
    }

  # aws_ecs_task_definition.api must be replaced
-/+ resource "aws_ecs_task_definition" "api" {
      - old = "a"
      + new = "b"
    }

Plan: 1 to add, 1 to change, 1 to destroy.
`;

describe("plan comment", () => {
  test("summarises each environment's counts and warns on destroys", () => {
    expect(summaryLine({ environment: "dev", exitCode: 2, text: PLAN })).toBe(
      "1 to add, 1 to change ⚠️ **1 to destroy**",
    );
    expect(
      summaryLine({ environment: "dev", exitCode: 0, text: "No changes. Your infrastructure matches." }),
    ).toBe("no changes");
    expect(summaryLine({ environment: "dev", exitCode: 1, text: "Error: boom" })).toBe("**plan failed**");
  });

  test("drops refresh noise and moves change markers to the first column", () => {
    const lines = condense(PLAN);
    expect(lines[0]).toBe("Terraform will perform the following actions:");
    expect(lines.join("\n")).not.toContain("Refreshing state");
    expect(lines).toContain('~   resource "aws_ecs_service" "api" {');
    expect(lines).toContain('-       old = "a"');
    expect(lines).toContain('+       new = "b"');
  });

  test("one comment for all environments, sorted, within GitHub's limit however long the plan", () => {
    const huge = PLAN.replace("Plan:", `${'  + tag = "x"\n'.repeat(20_000)}Plan:`);
    const comment = renderComment(
      [
        { environment: "prod", exitCode: 2, text: huge },
        { environment: "dev", exitCode: 1, text: "Error: No valid credential sources found" },
      ],
      "https://run/1",
      "0123456789abcdef",
    );
    expect(comment.length).toBeLessThan(COMMENT_BUDGET);
    expect(comment).toContain("### terraform plan for 0123456789ab");
    expect(comment.indexOf("| dev | **plan failed** |")).toBeLessThan(comment.indexOf("| prod |"));
    expect(comment).toContain("Error: No valid credential sources found");
    expect(comment).toMatch(
      /… \d+ more lines: the full plan is in the \[run\]\(https:\/\/run\/1\)'s `plan-prod` artifact/,
    );
  });

  test("reads the artifacts the plan job uploads", async () => {
    const dir = mkdtempSync(`${tmpdir()}/plans-`);
    for (const [env, code] of [
      ["dev", "2"],
      ["prod", "1"],
    ] as const) {
      mkdirSync(`${dir}/plan-${env}`);
      writeFileSync(`${dir}/plan-${env}/exitcode`, `${code}\n`);
      writeFileSync(`${dir}/plan-${env}/plan.log`, env === "prod" ? "Error: state lock" : "");
      if (env === "dev") writeFileSync(`${dir}/plan-${env}/plan.txt`, PLAN);
    }
    const proc = Bun.spawnSync([process.execPath, `${ROOT}scripts/plan-comment.ts`, dir, "https://run/2"], {
      stdout: "pipe",
    });
    const out = proc.stdout.toString();
    expect(proc.exitCode).toBe(0);
    expect(out).toContain("| dev | 1 to add, 1 to change ⚠️ **1 to destroy** |");
    expect(out).toContain("| prod | **plan failed** |");
    expect(out).toContain("Error: state lock");
  });
});

const figure = (over: Partial<Figure>): Figure => ({
  metric: "http_req_duration{name:GET /products/{id}}",
  stat: "p(99)",
  better: "lower",
  value: 10,
  ...over,
});

describe("bench comparison", () => {
  test("flags a change for the worse over 10% in the figure's own direction", () => {
    expect(compareFigure(figure({ value: 11.5 }), 10).regression).toBe(true);
    expect(compareFigure(figure({ value: 10.9 }), 10).regression).toBe(false);
    expect(compareFigure(figure({ value: 8 }), 10)).toMatchObject({ regression: false, improvement: true });
    const rate = figure({ metric: "http_reqs", stat: "rate", better: "higher", value: 800 });
    expect(compareFigure(rate, 1000).regression).toBe(true);
    expect(compareFigure({ ...rate, value: 1200 }, 1000).improvement).toBe(true);
  });

  test("sub-millisecond latency moves are noise, and missing values compare to nothing", () => {
    expect(compareFigure(figure({ value: 0.9 }), 0.5).regression).toBe(false);
    expect(compareFigure(figure({ value: 12 }), null).change).toBeNull();
    expect(compareFigure(figure({ value: null }), 10).regression).toBe(false);
  });

  const result = (scenario: string, value: number, target = "http://127.0.0.1:8080"): ScenarioResult => ({
    scenario,
    target,
    figures: [figure({ value, seed: 100 })],
    metrics: { checks: { thresholds: { "rate>0.999": { ok: value < 50 } } } },
  });

  test("the report lists regressions first, failed thresholds, and skips other targets", () => {
    const report = renderReport(
      [result("products-50", 20), result("bidding-lua", 60), result("soak", 5, "https://prod")],
      [result("products-50", 10), result("bidding-lua", 59), result("soak", 50)],
    );
    expect(report).toContain("**1 figure worse by more than 10%:**");
    expect(report).toContain("- 🔴 products-50: http_req_duration{name:GET /products/{id}} p(99) 10 → 20");
    expect(report).toContain("- ❌ bidding-lua: checks: rate>0.999");
    expect(report).toContain("_previous run targeted http://127.0.0.1:8080: not compared_");
    expect(report).toContain("| +100.0% 🔴 worse |");
  });

  test("the first night has nothing to compare with but still reports", () => {
    const report = renderReport([result("orders", 5)], undefined);
    expect(report).toContain("No previous run to compare with.");
    expect(report).toContain("No figure got worse by more than 10%.");
  });

  test("reads summary files and ignores other JSON", async () => {
    const dir = mkdtempSync(`${tmpdir()}/k6-results-`);
    writeFileSync(`${dir}/orders.json`, JSON.stringify(result("orders", 5)));
    writeFileSync(`${dir}/other.json`, JSON.stringify({ hello: 1 }));
    expect((await readResults(dir))?.map((r) => r.scenario)).toEqual(["orders"]);
    expect(await readResults(`${dir}/missing`)).toBeUndefined();
  });
});
