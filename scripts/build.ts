/**
 * Compiles every role into one self-contained executable, ./shop (or the path given as argv[2]).
 *
 *   bun scripts/build.ts [OUTFILE]     SHOP_COMPILE_TARGET=linux-amd64|linux-arm64 (default: this machine)
 *                                      SHOP_BUN_RUNTIME=<bun binary of that target> (default: Bun downloads it)
 *
 * x64 targets the "baseline" build: the default Bun x64 build needs AVX2, which older CI runners, some
 * Fargate hosts and emulators lack; baseline costs little and runs everywhere. The Dockerfile passes the
 * target explicitly and the target's own Bun (pinned by checksum), so a cross-build downloads nothing.
 */
import { $ } from "bun";

const TARGETS = { "linux-amd64": "bun-linux-x64-baseline", "linux-arm64": "bun-linux-arm64" } as const;
type Platform = keyof typeof TARGETS;

export function compileTarget(platform: string | undefined, arch: string): Bun.Build.CompileTarget {
  if (platform === undefined || platform === "")
    return TARGETS[arch === "arm64" ? "linux-arm64" : "linux-amd64"];
  if (!(platform in TARGETS)) {
    throw new Error(`SHOP_COMPILE_TARGET=${platform}: expected one of ${Object.keys(TARGETS).join(", ")}`);
  }
  return TARGETS[platform as Platform];
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? "shop";
  const target = compileTarget(process.env.SHOP_COMPILE_TARGET, process.arch);
  const revision =
    process.env.SHOP_REVISION ??
    (await $`git rev-parse --short=12 HEAD`.nothrow().quiet().text()).trim() ??
    "unknown";
  const result = await Bun.build({
    entrypoints: ["src/main.ts"],
    compile: {
      target,
      outfile,
      ...(process.env.SHOP_BUN_RUNTIME ? { executablePath: process.env.SHOP_BUN_RUNTIME } : {}),
    },
    minify: true,
    // JavaScriptCore bytecode: the binary's startup no longer parses the whole bundle. With the lazy imports
    // (docs/architecture.md) a Lambda cold start measured ~100 ms median here instead of ~200–320 ms without
    // bytecode; it costs ~8.6 MB of binary (docs/benchmarks.md). ESM because main.ts awaits at the top level.
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
    `built ${outfile} (${target}, revision ${revision || "unknown"}): ${(size / 1e6).toFixed(1)} MB`,
  );
}
