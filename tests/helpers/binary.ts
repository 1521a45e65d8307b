/** The compiled binary, built with `bun scripts/build.ts` once per source state (cached under node_modules/.cache). */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ROOT } from "./shop.ts";

/** Everything the binary is built from; the cache key. */
function sourceHash(): string {
  const hash = createHash("sha256").update(Bun.version);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  for (const file of [
    ...walk(join(ROOT, "src")),
    ...["package.json", "bun.lock", "tsconfig.json", "scripts/build.ts"].map((f) => join(ROOT, f)),
  ].sort()) {
    hash.update(relative(ROOT, file)).update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

export function builtBinary(): string {
  const out = join(ROOT, "node_modules", ".cache", "shop-test-binary", sourceHash(), "shop");
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), `${out}.tmp`], {
    cwd: ROOT,
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr}`);
  Bun.spawnSync(["mv", `${out}.tmp`, out]);
  return out;
}
