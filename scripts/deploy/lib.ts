/**
 * What the deploy, plan and teardown steps share: running the CLIs (`aws`, `terraform`) found on PATH,
 * reading Terraform outputs, and talking to the GitHub runner (step outputs, masks, the job summary).
 * Every step fails loudly: a non-zero exit and a `::error::` line naming what failed.
 */
import { appendFileSync } from "node:fs";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class StepFailure extends Error {
  override name = "StepFailure";
}

/** Runs a command to completion; its stderr is passed through unless `quiet`. */
export async function run(
  cmd: string[],
  opts: { quiet?: boolean; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const proc = Bun.spawn(cmd, {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (!opts.quiet && stderr) process.stderr.write(stderr);
  return { code, stdout, stderr };
}

/** Runs a command that must succeed. */
export async function must(cmd: string[], what: string, opts: { quiet?: boolean } = {}): Promise<string> {
  const r = await run(cmd, opts);
  if (r.code !== 0) throw new StepFailure(`${what} failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`);
  return r.stdout;
}

/** Runs a command with its output streamed through (terraform plan/apply), and fails unless it exits 0. */
export async function stream(cmd: string[], what: string): Promise<void> {
  const proc = Bun.spawn(cmd, { stdout: "inherit", stderr: "inherit", env: process.env });
  const code = await proc.exited;
  if (code !== 0) throw new StepFailure(`${what} failed (exit ${code})`);
}

export async function awsJson<T>(args: string[], what: string): Promise<T> {
  return JSON.parse(await must(["aws", ...args, "--output", "json"], what)) as T;
}

/** The Terraform outputs the steps read (tests check the stack defines each). */
export const STACK_OUTPUTS = [
  "api_url",
  "ws_url",
  "ecr_repository_url",
  "cluster_name",
  "service_names",
  "task_definition_arns",
  "admin_token_secret_arn",
] as const;

export interface StackOutputs {
  api_url: string;
  ws_url: string;
  ecr_repository_url: string;
  cluster_name: string;
  service_names: Record<string, string>;
  task_definition_arns: Record<string, string>;
  admin_token_secret_arn: string;
}

export async function terraformOutputs(stack: string): Promise<StackOutputs> {
  const raw = JSON.parse(
    await must(["terraform", `-chdir=${stack}`, "output", "-json"], "terraform output", { quiet: true }),
  ) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value])) as unknown as StackOutputs;
}

export function need(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  if (!value) throw new StepFailure(`${name} is not set`);
  return value;
}

/** Step outputs (`steps.<id>.outputs.<name>`); printed as well when not on a runner. */
export function setOutput(name: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new StepFailure(`output ${name} must be one line`);
  const file = process.env.GITHUB_OUTPUT;
  if (file) appendFileSync(file, `${name}=${value}\n`);
  else console.log(`${name}=${value}`);
}

/** From here on the runner replaces `value` with *** in every log line. */
export function mask(value: string): void {
  for (const line of value.split(/\r?\n/).filter((l) => l !== "")) console.log(`::add-mask::${line}`);
}

export function summary(markdown: string): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, `${markdown}\n`);
  else console.log(markdown);
}

/** Runs a step's main function: a StepFailure (or any error) becomes `::error::` and exit 1. */
export async function main(step: () => Promise<void>): Promise<never> {
  try {
    await step();
    process.exit(0);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.log(`::error::${message.replace(/\r?\n/g, " ")}`);
    process.exit(1);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
