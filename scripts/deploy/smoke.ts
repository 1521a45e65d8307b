#!/usr/bin/env bun
/**
 * Deploy step 4: scripts/smoke.ts through the load balancer, with the admin token the services were given
 * (read from Secrets Manager, masked in the log before anything can print it). The output is kept in
 * SMOKE_OUTPUT (default smoke.txt) for the job summary; the step's exit code is the smoke test's.
 *
 *   STACK=… bun scripts/deploy/smoke.ts
 */
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { main, mask, must, need, StepFailure, terraformOutputs } from "./lib.ts";

if (import.meta.main) {
  await main(async () => {
    const stack = need(process.env, "STACK");
    const out = await terraformOutputs(stack);
    const token = (
      await must(
        [
          "aws",
          "secretsmanager",
          "get-secret-value",
          "--secret-id",
          out.admin_token_secret_arn,
          "--query",
          "SecretString",
          "--output",
          "text",
        ],
        "reading the admin token from Secrets Manager",
        { quiet: true },
      )
    ).trim();
    if (token === "") throw new StepFailure("the admin token secret is empty");
    mask(token);
    const file = createWriteStream(process.env.SMOKE_OUTPUT ?? "smoke.txt");
    const proc = Bun.spawn([process.execPath, join(import.meta.dirname, "..", "smoke.ts")], {
      env: { ...process.env, BASE_URL: out.api_url, WS_URL: out.ws_url, ADMIN_TOKEN: token },
      stdout: "pipe",
      stderr: "pipe",
    });
    const tee = async (from: ReadableStream<Uint8Array>, to: NodeJS.WriteStream) => {
      for await (const chunk of from) {
        to.write(chunk);
        file.write(chunk);
      }
    };
    await Promise.all([tee(proc.stdout, process.stdout), tee(proc.stderr, process.stderr)]);
    const code = await proc.exited;
    await new Promise<void>((resolve) => file.end(resolve));
    if (code !== 0) throw new StepFailure(`smoke test failed (exit ${code}) against ${out.api_url}`);
  });
}
