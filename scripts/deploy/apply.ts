#!/usr/bin/env bun
/**
 * Deploy step 2: plan and apply the stack with the image tag, then publish what later steps need. A stack
 * that runs the processor on Lambda first gets the function's single-platform tag (lambda-image.ts).
 *
 *   STACK=… IMAGE_TAG=<sha> bun scripts/deploy/apply.ts
 *
 * Step outputs: api_url, ws_url, cluster, services (space-separated).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lambdaPlatform, tagLambdaImage } from "./lambda-image.ts";
import { main, need, setOutput, stream, terraformOutputs } from "./lib.ts";

if (import.meta.main) {
  await main(async () => {
    const stack = need(process.env, "STACK");
    const tag = need(process.env, "IMAGE_TAG");
    const tf = ["terraform", `-chdir=${stack}`];
    const platform = lambdaPlatform(JSON.parse(readFileSync(join(stack, "cdk.tf.json"), "utf8")));
    if (platform) {
      // prepare.ts made sure the repository exists and the image was pushed.
      const url = (await terraformOutputs(stack)).ecr_repository_url;
      await tagLambdaImage(url.slice(url.indexOf("/") + 1), tag, platform);
    }
    await stream(
      [
        ...tf,
        "plan",
        "-input=false",
        "-no-color",
        "-lock-timeout=5m",
        `-var=image_tag=${tag}`,
        "-out=tfplan",
      ],
      "terraform plan",
    );
    await stream(
      [...tf, "apply", "-input=false", "-no-color", "-lock-timeout=5m", "tfplan"],
      "terraform apply",
    );
    const out = await terraformOutputs(stack);
    setOutput("api_url", out.api_url);
    setOutput("ws_url", out.ws_url);
    setOutput("cluster", out.cluster_name);
    setOutput("services", Object.values(out.service_names).join(" "));
  });
}
