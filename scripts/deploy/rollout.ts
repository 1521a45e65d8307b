#!/usr/bin/env bun
/**
 * Deploy step 3: every service must end on the task definition this apply registered. "Stable" is not
 * enough: after the deployment circuit breaker rolls a release back, the service is stable on the old
 * task definition. So each service's PRIMARY deployment must run the expected task definition with
 * rolloutState COMPLETED; a FAILED rollout or a PRIMARY on another task definition (rolled back) fails the
 * step at once, naming the service.
 *
 *   STACK=… bun scripts/deploy/rollout.ts          ROLLOUT_TIMEOUT_S (1800), ROLLOUT_POLL_S (15)
 */
import { awsJson, main, need, StepFailure, sleep, summary, terraformOutputs } from "./lib.ts";

export interface Deployment {
  status: string;
  taskDefinition: string;
  rolloutState?: string;
  rolloutStateReason?: string;
  runningCount?: number;
  desiredCount?: number;
}

export interface DescribedService {
  serviceName: string;
  deployments: Deployment[];
}

export type Verdict =
  | { state: "done"; detail: string }
  | { state: "waiting"; detail: string }
  | { state: "failed"; detail: string };

const family = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

/** Where one service stands against the task definition it must end on. */
export function verdict(service: DescribedService, expected: string): Verdict {
  const primary = service.deployments.find((d) => d.status === "PRIMARY");
  if (!primary) return { state: "waiting", detail: "no PRIMARY deployment yet" };
  if (primary.taskDefinition !== expected) {
    const failed = service.deployments.find(
      (d) => d.taskDefinition === expected && d.rolloutState === "FAILED",
    );
    const why = failed?.rolloutStateReason ? `: ${failed.rolloutStateReason}` : "";
    return {
      state: "failed",
      detail: `rolled back: PRIMARY runs ${family(primary.taskDefinition)}, not ${family(expected)}${why}`,
    };
  }
  if (primary.rolloutState === "FAILED") {
    return { state: "failed", detail: `rollout FAILED: ${primary.rolloutStateReason ?? "no reason given"}` };
  }
  const counts = `${primary.runningCount ?? "?"}/${primary.desiredCount ?? "?"} running`;
  if (primary.rolloutState === "COMPLETED")
    return { state: "done", detail: `${family(expected)} COMPLETED, ${counts}` };
  return {
    state: "waiting",
    detail: `${family(expected)} ${primary.rolloutState ?? "IN_PROGRESS"}, ${counts}`,
  };
}

if (import.meta.main) {
  await main(async () => {
    const stack = need(process.env, "STACK");
    const timeoutMs = Number(process.env.ROLLOUT_TIMEOUT_S ?? 1800) * 1000;
    const pollMs = Number(process.env.ROLLOUT_POLL_S ?? 15) * 1000;
    const out = await terraformOutputs(stack);
    const expected = new Map(
      Object.entries(out.service_names).map(([role, name]) => [name, out.task_definition_arns[role] ?? ""]),
    );
    const deadline = Date.now() + timeoutMs;
    const done = new Map<string, string>();
    for (;;) {
      const pending = [...expected.keys()].filter((s) => !done.has(s));
      const described = await awsJson<{
        services: DescribedService[];
        failures: { arn: string; reason: string }[];
      }>(
        ["ecs", "describe-services", "--cluster", out.cluster_name, "--services", ...pending],
        "aws ecs describe-services",
      );
      if (described.failures.length > 0) {
        throw new StepFailure(described.failures.map((f) => `${family(f.arn)}: ${f.reason}`).join("; "));
      }
      const failed: string[] = [];
      const waiting: string[] = [];
      for (const service of described.services) {
        const v = verdict(service, expected.get(service.serviceName) ?? "");
        if (v.state === "done") done.set(service.serviceName, v.detail);
        else (v.state === "failed" ? failed : waiting).push(`${service.serviceName}: ${v.detail}`);
      }
      for (const line of waiting) console.log(`waiting  ${line}`);
      if (failed.length > 0) throw new StepFailure(`deploy not rolled out: ${failed.join("; ")}`);
      if (done.size === expected.size) break;
      if (Date.now() + pollMs > deadline) {
        throw new StepFailure(`rollout not complete after ${timeoutMs / 1000} s: ${waiting.join("; ")}`);
      }
      await sleep(pollMs);
    }
    const lines = [...done].map(([name, detail]) => `| ${name} | ${detail} |`);
    for (const line of lines) console.log(line);
    summary(["#### Rollout", "", "| service | task definition |", "| --- | --- |", ...lines, ""].join("\n"));
  });
}
