/**
 * Structural checks of the Dockerfile and .dockerignore. There is no Docker engine or hadolint on the
 * development machines, so the properties the image depends on are asserted here; CI also builds it.
 */
import { describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { ROOT } from "../helpers/shop.ts";

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions grouped by stage, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    if (instruction.keyword === "FROM") stages.push([]);
    const stage = stages.at(-1);
    if (!stage) throw new Error(`instruction before FROM: ${line}`);
    stage.push(instruction);
  }
  return stages;
}

/** Docker's rule: the last matching pattern wins; `!` re-includes. Enough of it for an allow-list. */
function ignored(patterns: string[], path: string): boolean {
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, "");
    const matches = pattern === "**" || path === pattern || path.startsWith(`${pattern}/`);
    if (matches) result = !negate;
  }
  return result;
}

const dockerfile = await Bun.file(`${ROOT}Dockerfile`).text();
const stages = parseDockerfile(dockerfile);
const build = stages[0] ?? [];
const final = stages.at(-1) ?? [];
const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);
const one = (stage: Instruction[], keyword: string) => {
  const found = all(stage, keyword);
  expect(found).toHaveLength(1);
  return found[0]?.args ?? "";
};
const ignorePatterns = (await Bun.file(`${ROOT}.dockerignore`).text())
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

describe("Dockerfile", () => {
  test("is multi-stage: builds with the pinned Bun image", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(one(build, "FROM")).toBe(`oven/bun:${pkg.engines.bun} AS build`);
  });

  test("installs from the frozen lockfile and compiles with the project's build script", () => {
    const runs = all(build, "RUN").map((i) => i.args);
    expect(runs.some((r) => /\bbun install\b.*--frozen-lockfile/.test(r))).toBe(true);
    expect(runs.some((r) => /\bbun run build\b/.test(r))).toBe(true);
  });

  test("final stage is distroless with glibc, and holds only the binary", () => {
    expect(one(final, "FROM")).toMatch(
      /^(--platform=linux\/amd64 )?gcr\.io\/distroless\/base(-nossl)?-debian12(:nonroot)?$/,
    );
    expect(all(final, "COPY").map((i) => i.args)).toEqual([
      "--from=build --chown=65532:65532 /src/shop /shop",
    ]);
    expect(all(final, "RUN")).toHaveLength(0);
  });

  test("runs as a non-root user", () => {
    const user = one(final, "USER");
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user).toMatch(/^\d+:\d+$/);
  });

  test("entrypoint, default role and health check go through the binary", () => {
    expect(JSON.parse(one(final, "ENTRYPOINT"))).toEqual(["/shop"]);
    expect(JSON.parse(one(final, "CMD"))).toEqual(["--role", "all"]);
    const healthcheck = one(final, "HEALTHCHECK");
    const cmd = healthcheck.slice(healthcheck.indexOf("CMD ") + 4);
    expect(JSON.parse(cmd)).toEqual(["/shop", "healthcheck"]);
    expect(one(final, "EXPOSE")).toBe("8080");
  });

  test("carries the OCI source, revision and version labels", () => {
    const labels = all(final, "LABEL")
      .map((i) => i.args)
      .join(" ");
    for (const key of ["source", "revision", "version"]) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });
});

describe(".dockerignore", () => {
  test("keeps local state, secrets and builds out of the context", () => {
    for (const path of [
      ".git/HEAD",
      "node_modules/hono/package.json",
      "shop",
      ".env",
      "terraform/cdktf.out/stacks/dev/cdk.tf.json",
      "tests/helpers/shop.ts",
      ".tools/node_modules/.bin/bun",
    ]) {
      expect(ignored(ignorePatterns, path)).toBe(true);
    }
  });

  test("lets in everything the build stage copies", () => {
    const sources = all(build, "COPY").flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, ignored: ignored(ignorePatterns, source.replace(/\/$/, "")) }).toEqual({
        source,
        ignored: false,
      });
    }
    expect(ignored(ignorePatterns, "src/main.ts")).toBe(false);
  });
});
