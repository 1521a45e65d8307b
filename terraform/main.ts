/**
 * Synthesizes every environment to plain Terraform JSON: terraform/cdktf.out/stacks/<env>/cdk.tf.json.
 * `terraform -chdir=terraform/cdktf.out/stacks/<env> init|plan|apply` consumes it with no CDK tooling.
 * CDKTF_OUTDIR (the variable terraform-cdk tooling already uses) writes elsewhere.
 */
import { join } from "node:path";
import { App } from "cdktn";
import { environments, TARGET_VERSIONS, validate, withOverrides } from "./config.ts";
import { ShopStack } from "./stack.ts";

const configs = Object.values(environments).map((env) => withOverrides(env, process.env));
const problems = configs.flatMap(validate);
if (problems.length > 0) {
  console.error(`invalid infrastructure configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
const app = new App({
  outdir: process.env.CDKTF_OUTDIR ?? join(import.meta.dirname, "cdktf.out"),
  context: { targetVersions: TARGET_VERSIONS },
});
for (const env of configs) new ShopStack(app, env);
app.synth();
