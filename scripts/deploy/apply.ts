#!/usr/bin/env bun
/**
 * Deploy step 2: plan and apply the stack with the image tag, then publish what later steps need.
 *
 *   STACK=… IMAGE_TAG=<sha> bun scripts/deploy/apply.ts
 *
 * Step outputs: api_url, ws_url, cluster, services (space-separated).
 */
import { main, need, setOutput, stream, terraformOutputs } from "./lib.ts";

if (import.meta.main) {
  await main(async () => {
    const stack = need(process.env, "STACK");
    const tag = need(process.env, "IMAGE_TAG");
    const tf = ["terraform", `-chdir=${stack}`];
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
