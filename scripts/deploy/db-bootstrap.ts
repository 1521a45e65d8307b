#!/usr/bin/env bun
/**
 * Runs the database bootstrap task once and fails unless it exits 0. Terraform calls it (local-exec of
 * terraform/constructs/db-bootstrap.ts) before it creates the archiver's service, with:
 *
 *   CLUSTER  TASK_DEFINITION  SUBNETS (comma-separated)  SECURITY_GROUP  AWS_REGION  LOG_GROUP
 *
 * On failure it prints the task's stop reason and the end of its log.
 */
import { awsJson, main, need, run, StepFailure } from "./lib.ts";

interface Task {
  taskArn: string;
  lastStatus?: string;
  stoppedReason?: string;
  containers?: { name: string; exitCode?: number; reason?: string }[];
}

/** Container "shop" of the task definition: its log stream is <prefix>/<container>/<task id>. */
const CONTAINER = "shop";
const STREAM_PREFIX = "db-bootstrap";

export function outcome(task: Task): { ok: boolean; detail: string } {
  const container = task.containers?.find((c) => c.name === CONTAINER);
  if (container?.exitCode === 0) return { ok: true, detail: "exited 0" };
  const code = container?.exitCode === undefined ? "no exit code" : `exit ${container.exitCode}`;
  const reasons = [task.stoppedReason, container?.reason].filter(Boolean).join("; ");
  return { ok: false, detail: `${code}${reasons ? ` (${reasons})` : ""}` };
}

if (import.meta.main) {
  await main(async () => {
    const env = process.env;
    const cluster = need(env, "CLUSTER");
    const subnets = need(env, "SUBNETS").split(",");
    const started = await awsJson<{ tasks: Task[]; failures: { reason: string }[] }>(
      [
        "ecs",
        "run-task",
        "--cluster",
        cluster,
        "--task-definition",
        need(env, "TASK_DEFINITION"),
        "--launch-type",
        "FARGATE",
        "--count",
        "1",
        "--started-by",
        "shop-db-bootstrap",
        "--network-configuration",
        JSON.stringify({
          awsvpcConfiguration: {
            subnets,
            securityGroups: [need(env, "SECURITY_GROUP")],
            assignPublicIp: "DISABLED",
          },
        }),
      ],
      "aws ecs run-task",
    );
    const task = started.tasks[0];
    if (!task || started.failures.length > 0) {
      throw new StepFailure(
        `database bootstrap did not start: ${started.failures.map((f) => f.reason).join("; ")}`,
      );
    }
    console.log(`database bootstrap: started ${task.taskArn}`);
    const waited = await run([
      "aws",
      "ecs",
      "wait",
      "tasks-stopped",
      "--cluster",
      cluster,
      "--tasks",
      task.taskArn,
    ]);
    if (waited.code !== 0) throw new StepFailure(`database bootstrap ${task.taskArn} did not stop in time`);
    const described = await awsJson<{ tasks: Task[] }>(
      ["ecs", "describe-tasks", "--cluster", cluster, "--tasks", task.taskArn],
      "aws ecs describe-tasks",
    );
    const result = outcome(described.tasks[0] ?? task);
    if (result.ok) {
      console.log("database bootstrap: the application role is ready");
      return;
    }
    const id = task.taskArn.slice(task.taskArn.lastIndexOf("/") + 1);
    const logs = await run(
      [
        "aws",
        "logs",
        "get-log-events",
        "--log-group-name",
        need(env, "LOG_GROUP"),
        "--log-stream-name",
        `${STREAM_PREFIX}/${CONTAINER}/${id}`,
        "--limit",
        "30",
        "--query",
        "events[].message",
        "--output",
        "text",
      ],
      { quiet: true },
    );
    if (logs.code === 0) console.log(logs.stdout);
    throw new StepFailure(`database bootstrap failed: ${result.detail}`);
  });
}
