/**
 * Compiles every role into one self-contained executable, ./shop (or the path given as argv[2]).
 * x64 targets the "baseline" build: the default Bun x64 build needs AVX2, which older CI runners,
 * some Fargate hosts and emulators lack; baseline costs little and runs everywhere.
 */
import { $ } from "bun";

const outfile = process.argv[2] ?? "shop";
const arch = process.arch === "arm64" ? "arm64" : "x64-baseline";
const revision =
  process.env.SHOP_REVISION ??
  (await $`git rev-parse --short=12 HEAD`.nothrow().quiet().text()).trim() ??
  "unknown";

const result = await Bun.build({
  entrypoints: ["src/main.ts"],
  compile: { target: `bun-linux-${arch}` as Bun.Build.CompileTarget, outfile },
  minify: true,
  // Precompiled JavaScriptCore bytecode: startup no longer parses the ~10 MB bundle (a Lambda cold start
  // with the whole graph measured 3x faster, docs/lambda.md). ESM because main.ts awaits at the top level.
  bytecode: true,
  format: "esm",
  define: { SHOP_REVISION: JSON.stringify(revision || "unknown") },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const size = Bun.file(outfile).size;
console.log(
  `built ${outfile} (bun-linux-${arch}, revision ${revision || "unknown"}): ${(size / 1e6).toFixed(1)} MB`,
);
