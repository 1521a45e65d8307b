#!/usr/bin/env bun
/**
 * Destroys one environment, completely, or refuses before touching AWS: the typed confirmation must match,
 * and an environment with deletion protection (prod) is never torn down by a workflow. A `destroy` there
 * would delete the services, Redis, queues and NAT gateways, then stop at the protected database, tables
 * and load balancer: half an environment. Retiring prod is a deliberate change instead (docs/delivery.md).
 *
 *   ENVIRONMENT=dev CONFIRM=dev STACK=… bun scripts/deploy/teardown.ts [--check]
 *
 * --check only decides (the workflow's confirm job, before any credentials exist).
 */
import { environments } from "../../terraform/config.ts";
import { main, must, need, StepFailure, stream } from "./lib.ts";

export function refusal(environment: string, confirm: string | undefined): string | undefined {
  const env = Object.values(environments).find((e) => e.name === environment);
  if (!env) return `unknown environment "${environment}"`;
  if (confirm !== environment)
    return `typed "${confirm ?? ""}", expected "${environment}": nothing destroyed`;
  if (env.deletionProtection) {
    return `${environment} has deletion protection: a workflow never tears it down (it would stop half-way); see docs/delivery.md`;
  }
  return undefined;
}

if (import.meta.main) {
  await main(async () => {
    const environment = need(process.env, "ENVIRONMENT");
    const refused = refusal(environment, process.env.CONFIRM);
    if (refused) throw new StepFailure(refused);
    if (process.argv.includes("--check")) {
      console.log(`${environment}: confirmed, may be torn down`);
      return;
    }
    const stack = need(process.env, "STACK");
    await must(["terraform", `-chdir=${stack}`, "init", "-input=false", "-no-color"], "terraform init");
    // The image tag only feeds task definitions that are being deleted; any valid tag will do.
    await stream(
      [
        "terraform",
        `-chdir=${stack}`,
        "destroy",
        "-input=false",
        "-no-color",
        "-auto-approve",
        "-lock-timeout=5m",
        "-var=image_tag=teardown",
      ],
      "terraform destroy",
    );
  });
}
