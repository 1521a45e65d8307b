/**
 * Synthesizes environments to plain Terraform JSON: terraform/cdktf.out/stacks/<env>/cdk.tf.json, each with
 * its committed provider lock file (terraform/locks/<env>.terraform.lock.hcl) beside it.
 * `terraform -chdir=terraform/cdktf.out/stacks/<env> init|plan|apply` consumes it with no CDK tooling.
 *
 *   bun terraform/main.ts [ENV...]      default: every environment
 *
 * CDKTF_OUTDIR (the variable terraform-cdk tooling already uses) writes elsewhere. Account settings come
 * from SHOP_* variables (see ACCOUNT_SETTINGS); a configuration that would deploy wrongly is refused.
 */
import { copyFileSync } from "node:fs";
import { join, relative } from "node:path";
import { App } from "cdktn";
import { environments, settingsFrom, TARGET_VERSIONS, validate, withOverrides } from "./config.ts";
import { ShopStack } from "./stack.ts";

const names = Object.keys(environments);
const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !names.includes(n));
if (unknown.length > 0) {
  console.error(`unknown environment ${unknown.join(", ")}; environments: ${names.join(", ")}`);
  process.exit(2);
}
const settings = settingsFrom(process.env);
const configs = Object.values(environments)
  .filter((env) => wanted.length === 0 || wanted.includes(env.name))
  .map((env) => withOverrides(env, settings));
const problems = configs.flatMap(validate);
if (problems.length > 0) {
  console.error(`invalid infrastructure configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
const outdir = process.env.CDKTF_OUTDIR ?? join(import.meta.dirname, "cdktf.out");
const app = new App({ outdir, context: { targetVersions: TARGET_VERSIONS } });
// The database bootstrap's local-exec runs scripts/ from the repository root, wherever the stacks are written.
const repositoryRoot = join(import.meta.dirname, "..");
for (const env of configs) {
  new ShopStack(app, env, { repositoryRoot: relative(join(outdir, "stacks", env.name), repositoryRoot) });
}
app.synth();
for (const env of configs) {
  copyFileSync(
    join(import.meta.dirname, "locks", `${env.name}.terraform.lock.hcl`),
    join(outdir, "stacks", env.name, ".terraform.lock.hcl"),
  );
}
