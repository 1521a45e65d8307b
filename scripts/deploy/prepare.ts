#!/usr/bin/env bun
/**
 * Deploy step 1: `terraform init`, make sure the ECR repository exists (a brand-new environment gets only
 * its `aws_ecr_*` resources first, so there is somewhere to push), and decide whether to build: the
 * repository's tags are immutable, so a tag that already exists (a re-run, a rollback to an older SHA) is
 * deployed as it is and never pushed again.
 *
 *   STACK=terraform/cdktf.out/stacks/dev IMAGE_TAG=<sha> bun scripts/deploy/prepare.ts
 *
 * Step outputs: repository, image, push (true | false).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { main, must, need, run, StepFailure, setOutput, stream } from "./lib.ts";

/** `-target` for every aws_ecr_* resource of the synthesized stack. */
export function ecrTargets(stackJson: { resource?: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(stackJson.resource ?? {})
    .filter(([type]) => type.startsWith("aws_ecr_"))
    .flatMap(([type, byId]) => Object.keys(byId).map((id) => `-target=${type}.${id}`));
}

async function repositoryUrl(stack: string): Promise<string | undefined> {
  const r = await run(["terraform", `-chdir=${stack}`, "output", "-raw", "ecr_repository_url"], {
    quiet: true,
  });
  const url = r.stdout.trim();
  return r.code === 0 && url !== "" && !url.includes("\n") ? url : undefined;
}

/** true: the tag is in the repository; false: it is not; anything else the registry says is an error. */
export async function imageExists(repository: string, tag: string): Promise<boolean> {
  const name = repository.slice(repository.indexOf("/") + 1);
  const r = await run(
    [
      "aws",
      "ecr",
      "describe-images",
      "--repository-name",
      name,
      "--image-ids",
      `imageTag=${tag}`,
      "--output",
      "json",
    ],
    { quiet: true },
  );
  if (r.code === 0) return true;
  if (r.stderr.includes("ImageNotFoundException")) return false;
  throw new StepFailure(`cannot tell whether ${repository}:${tag} exists: ${r.stderr.trim()}`);
}

if (import.meta.main) {
  await main(async () => {
    const stack = need(process.env, "STACK");
    const tag = need(process.env, "IMAGE_TAG");
    await must(["terraform", `-chdir=${stack}`, "init", "-input=false", "-no-color"], "terraform init");
    let url = await repositoryUrl(stack);
    if (!url) {
      console.log("no ECR repository in the state yet: creating it before anything else");
      const targets = ecrTargets(JSON.parse(readFileSync(join(stack, "cdk.tf.json"), "utf8")));
      await stream(
        [
          "terraform",
          `-chdir=${stack}`,
          "apply",
          "-input=false",
          "-no-color",
          "-auto-approve",
          `-var=image_tag=${tag}`,
          ...targets,
        ],
        "terraform apply (ECR repository)",
      );
      url = await repositoryUrl(stack);
      if (!url)
        throw new StepFailure("terraform has no ecr_repository_url output after creating the repository");
    }
    const exists = await imageExists(url, tag);
    console.log(
      exists
        ? `${url}:${tag} exists: deploying it as it is (tags are immutable)`
        : `${url}:${tag}: to build and push`,
    );
    setOutput("repository", url);
    setOutput("image", `${url}:${tag}`);
    setOutput("push", String(!exists));
  });
}
