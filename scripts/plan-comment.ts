#!/usr/bin/env bun
/**
 * Renders the terraform plans of a pull request as one Markdown comment (the plan workflow posts it as
 * a sticky comment): a table of what each environment would add, change and destroy, then each plan
 * with the refresh noise dropped, shortened to fit GitHub's comment limit.
 *
 *   bun scripts/plan-comment.ts DIR RUN_URL [SHA]    DIR holds plan-<env>/{plan.txt,plan.log,exitcode}
 */
import { readdirSync } from "node:fs";

export interface PlanInput {
  environment: string;
  /** `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes. */
  exitCode: number;
  /** `terraform show` of the plan, or the plan's output when it failed. */
  text: string;
}

/** GitHub rejects comments over 65,536 characters; leave room for the table and the wrapping. */
export const COMMENT_BUDGET = 60_000;

const NOISE = /(: Refreshing state\.\.\.|: Reading\.\.\.|: Read complete after|: Still reading\.\.\.)/;

export function summaryLine(plan: PlanInput): string {
  if (plan.exitCode === 1) return "**plan failed**";
  const counts = plan.text.match(/Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/);
  if (counts) {
    const destroy = Number(counts[3]) > 0 ? ` ⚠️ **${counts[3]} to destroy**` : `, ${counts[3]} to destroy`;
    return `${counts[1]} to add, ${counts[2]} to change${destroy}`;
  }
  return plan.exitCode === 0 || /No changes\./.test(plan.text) ? "no changes" : "see the plan";
}

/** The resource changes only, with +/-/~ moved to the first column so a `diff` block colours them. */
export function condense(text: string): string[] {
  const lines = text.split("\n").filter((l) => !NOISE.test(l));
  const start = lines.findIndex((l) => l.startsWith("Terraform will perform the following actions"));
  return (start >= 0 ? lines.slice(start) : lines)
    .map((l) => l.replace(/^(\s*)([+\-~])(\s)/, "$2$1$3").trimEnd())
    .filter((l, i, all) => l !== "" || all[i - 1] !== "");
}

function fence(lines: string[], budget: number, runUrl: string, environment: string): string {
  const kept: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > budget) break;
    kept.push(line);
    used += line.length + 1;
  }
  const cut = lines.length - kept.length;
  const tail =
    cut > 0
      ? `\n\n… ${cut} more lines: the full plan is in the [run](${runUrl})'s \`plan-${environment}\` artifact.`
      : "";
  // A plan can itself contain backticks; a longer fence than any run inside keeps the block intact.
  const longest = Math.max(
    2,
    ...kept.map((l) => l.match(/`+/g)?.reduce((m, r) => Math.max(m, r.length), 0) ?? 0),
  );
  const ticks = "`".repeat(longest + 1);
  return `${ticks}diff\n${kept.join("\n")}\n${ticks}${tail}`;
}

export function renderComment(plans: PlanInput[], runUrl: string, sha = ""): string {
  const sorted = [...plans].sort((a, b) => a.environment.localeCompare(b.environment));
  const head = [
    `### terraform plan${sha ? ` for ${sha.slice(0, 12)}` : ""}`,
    "",
    "| environment | plan |",
    "| --- | --- |",
    ...sorted.map((p) => `| ${p.environment} | ${summaryLine(p)} |`),
    "",
  ];
  const budget = Math.floor((COMMENT_BUDGET - head.join("\n").length) / Math.max(1, sorted.length)) - 400;
  const sections = sorted.map((p) => {
    const body = p.exitCode === 1 ? p.text.split("\n").slice(-60) : condense(p.text);
    return [
      `<details${p.exitCode === 1 ? " open" : ""}><summary>${p.environment}: ${summaryLine(p)}</summary>`,
      "",
      fence(body, budget, runUrl, p.environment),
      "",
      "</details>",
    ].join("\n");
  });
  return `${[...head, ...sections, "", `[workflow run](${runUrl})`].join("\n")}\n`;
}

async function readPlans(dir: string): Promise<PlanInput[]> {
  const plans: PlanInput[] = [];
  for (const entry of readdirSync(dir).filter((e) => e.startsWith("plan-"))) {
    const base = `${dir}/${entry}`;
    const exitCode = Number((await Bun.file(`${base}/exitcode`).text()).trim());
    const failed = exitCode === 1 || !(await Bun.file(`${base}/plan.txt`).exists());
    const text = await Bun.file(`${base}/${failed ? "plan.log" : "plan.txt"}`).text();
    plans.push({ environment: entry.slice("plan-".length), exitCode: failed ? 1 : exitCode, text });
  }
  return plans;
}

if (import.meta.main) {
  const [dir, runUrl, sha] = process.argv.slice(2);
  if (!dir || !runUrl) {
    console.error("usage: bun scripts/plan-comment.ts DIR RUN_URL [SHA]");
    process.exit(2);
  }
  process.stdout.write(renderComment(await readPlans(dir), runUrl, sha));
}
