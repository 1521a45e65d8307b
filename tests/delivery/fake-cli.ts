/**
 * A stand-in for `aws`, `terraform` or `docker` on PATH: records every call (tool, arguments, the
 * environment variables asked for) to FAKE_DIR/calls.jsonl and answers from FAKE_DIR/rules.json, the first
 * rule whose tool and argument words match; a rule with several answers gives them in turn, then repeats
 * the last. A call no rule matches exits 99, so a script that calls something unexpected fails its test.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Answer {
  stdout?: string;
  stderr?: string;
  code?: number;
  /** Writes this file (relative to the working directory) before answering, like `terraform plan -out`. */
  writes?: string;
}

export interface Rule {
  tool: string;
  /** Every word must appear among the arguments (in any order). */
  has: string[];
  answers: Answer[];
}

const [tool = "", ...args] = process.argv.slice(2);
const dir = process.env.FAKE_DIR ?? "";
appendFileSync(join(dir, "calls.jsonl"), `${JSON.stringify({ tool, args, cwd: process.cwd() })}\n`);
const rules = JSON.parse(readFileSync(join(dir, "rules.json"), "utf8")) as Rule[];
const index = rules.findIndex((r) => r.tool === tool && r.has.every((w) => args.includes(w)));
const rule = rules[index];
if (!rule) {
  process.stderr.write(`fake ${tool}: no rule for ${JSON.stringify(args)}\n`);
  process.exit(99);
}
const counter = join(dir, `rule-${index}.count`);
const used = existsSync(counter) ? Number(readFileSync(counter, "utf8")) : 0;
writeFileSync(counter, String(used + 1));
const answer = rule.answers[Math.min(used, rule.answers.length - 1)] ?? {};
if (answer.writes) writeFileSync(answer.writes, "fake");
if (answer.stdout) process.stdout.write(answer.stdout);
if (answer.stderr) process.stderr.write(answer.stderr);
process.exit(answer.code ?? 0);
