/**
 * Structural checks of the Dockerfile and .dockerignore. There is no Docker engine or hadolint on the
 * development machines, so the properties the image depends on are asserted here; CI also builds it.
 */
import { describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { APP } from "../../terraform/config.ts";
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

const stageNamed = (name: string) => stages.find((st) => st[0]?.args.endsWith(` AS ${name}`)) ?? [];
const build = stageNamed("build");

describe("Dockerfile", () => {
  test("every base image is pinned by digest", () => {
    const bases = stages
      .map((st) => st[0]?.args.replace(/^--platform=\S+ /, "").split(" ")[0] ?? "")
      .filter((image) => image !== "scratch" && !/^bun-/.test(image));
    expect(bases.length).toBe(2);
    for (const image of bases) expect(image).toMatch(/^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
  });

  test("Bun is the pinned version, fetched by checksum for the builder and for the target", () => {
    const adds = stages.flatMap((st) => all(st, "ADD").map((i) => i.args));
    expect(adds).toHaveLength(2);
    for (const add of adds) {
      expect(add).toMatch(
        /^--checksum=sha256:[0-9a-f]{64} https:\/\/registry\.npmjs\.org\/@oven\/bun-linux-[\w-]+\/-\/bun-linux-[\w-]+-([\d.]+)\.tgz \/bun\.tgz$/,
      );
      expect(add).toContain(`-${pkg.engines.bun}.tgz`);
    }
    expect(stages.map((st) => st[0]?.args)).toEqual(
      expect.arrayContaining([`bun-\${BUILDARCH} AS bun-build`, `bun-\${TARGETARCH} AS bun-target`]),
    );
  });

  test("the build stage runs on the build platform and compiles for an explicit target with its own runtime", () => {
    expect(build[0]?.args).toStartWith("--platform=$BUILDPLATFORM ");
    const runs = all(build, "RUN").map((i) => i.args);
    expect(runs.some((r) => /\bbun install\b.*--frozen-lockfile/.test(r))).toBe(true);
    const compile = runs.find((r) => /\bbun run build\b/.test(r)) ?? "";
    expect(compile).toContain(`SHOP_COMPILE_TARGET="linux-\${TARGETARCH}"`);
    expect(compile).toContain("SHOP_BUN_RUNTIME=/opt/bun-target/bun");
  });

  test("final stage is distroless with glibc, and holds only the root-owned binary and the RDS CA bundle", () => {
    expect(one(final, "FROM")).toMatch(
      /^gcr\.io\/distroless\/base-nossl-debian12:nonroot@sha256:[0-9a-f]{64}$/,
    );
    expect(all(final, "COPY").map((i) => i.args)).toEqual([
      "--from=build --chown=0:0 --chmod=0555 /src/shop /shop",
      `--chown=0:0 --chmod=0444 certs/rds-global-bundle.pem ${APP.rdsCaFile}`,
    ]);
    expect(all(final, "RUN")).toHaveLength(0);
  });

  test("runs as the user the task definitions state", () => {
    expect(one(final, "USER")).toBe(APP.user);
  });

  test("says that Bun needs /proc", () => {
    expect(dockerfile).toMatch(/Bun aborts at start without \/proc/);
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

  test("lets in everything the stages copy from the context", () => {
    const sources = stages
      .flatMap((st) => all(st, "COPY"))
      .filter((i) => !i.args.includes("--from="))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith("--"))
          .slice(0, -1),
      );
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
