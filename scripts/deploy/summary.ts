#!/usr/bin/env bun
/**
 * The deploy's job summary: what was deployed where, whether the image was built or reused, and the smoke
 * test's output. Runs whatever happened before it (`if: always()`), so missing values read "not reached".
 *
 *   ENVIRONMENT REF SHA IMAGE PUSHED API_URL SERVICES STATUS [SMOKE_OUTPUT] bun scripts/deploy/summary.ts
 */
import { existsSync, readFileSync } from "node:fs";
import { summary } from "./lib.ts";

export function render(env: Record<string, string | undefined>, smoke: string | undefined): string {
  const v = (name: string) => env[name] || "not reached";
  const image = env.PUSHED === "false" ? `${v("IMAGE")} (existed: not rebuilt)` : v("IMAGE");
  return [
    `### Deploy ${v("ENVIRONMENT")}: ${v("STATUS")}`,
    "",
    "| | |",
    "| --- | --- |",
    `| ref | \`${v("REF")}\` |`,
    `| commit | \`${v("SHA")}\` |`,
    `| image | \`${image}\` |`,
    `| api | ${v("API_URL")} |`,
    `| services | ${v("SERVICES")} |`,
    "",
    "#### Smoke test",
    "```",
    smoke?.trimEnd() || "not run",
    "```",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const file = process.env.SMOKE_OUTPUT ?? "smoke.txt";
  summary(render(process.env, existsSync(file) ? readFileSync(file, "utf8") : undefined));
}
