#!/usr/bin/env bun
/**
 * The pull-request plan of one environment, with the read-only plan role: `-lock=false`, because taking the
 * state lock writes an object (S3 lock file or DynamoDB item) that role may not write. A plan changes
 * nothing, so skipping the lock is safe; an apply always locks.
 *
 *   STACK=… ENVIRONMENT=dev IMAGE_TAG=<sha> bun scripts/deploy/plan.ts
 *
 * Writes plan-<env>/{plan.txt, plan.log, exitcode[, tfplan]} for scripts/plan-comment.ts; fails when the
 * plan failed (exit 1), not when it has changes (exit 2).
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main, must, need, run, StepFailure } from "./lib.ts";

if (import.meta.main) {
  await main(async () => {
    const stack = need(process.env, "STACK");
    const environment = need(process.env, "ENVIRONMENT");
    const tag = need(process.env, "IMAGE_TAG");
    const dir = `plan-${environment}`;
    mkdirSync(dir, { recursive: true });
    await must(["terraform", `-chdir=${stack}`, "init", "-input=false", "-no-color"], "terraform init");
    const plan = await run(
      [
        "terraform",
        `-chdir=${stack}`,
        "plan",
        "-input=false",
        "-no-color",
        "-lock=false",
        "-detailed-exitcode",
        `-var=image_tag=${tag}`,
        "-out=tfplan",
      ],
      { quiet: true },
    );
    writeFileSync(join(dir, "plan.log"), plan.stdout + plan.stderr);
    writeFileSync(join(dir, "exitcode"), `${plan.code}\n`);
    if (plan.code === 1) {
      console.log((plan.stdout + plan.stderr).split("\n").slice(-40).join("\n"));
      throw new StepFailure(`terraform plan of ${environment} failed`);
    }
    const shown = await run(["terraform", `-chdir=${stack}`, "show", "-no-color", "tfplan"], { quiet: true });
    writeFileSync(join(dir, "plan.txt"), shown.code === 0 ? shown.stdout : plan.stdout);
    if (existsSync(join(stack, "tfplan"))) renameSync(join(stack, "tfplan"), join(dir, "tfplan"));
    console.log(`terraform plan of ${environment}: ${plan.code === 2 ? "changes" : "no changes"}`);
  });
}
