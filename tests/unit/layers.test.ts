import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/shop.ts";

const IMPORT = /^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm;

function imports(dir: string): { file: string; spec: string }[] {
  const base = join(ROOT, dir);
  return readdirSync(base, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) =>
      [...readFileSync(join(base, f), "utf8").matchAll(IMPORT)].map((m) => ({
        file: `${dir}/${f}`,
        spec: m[1] ?? "",
      })),
    );
}

// HTTP statuses are decided in one table at the edge; below it only domain outcome codes exist.
test("nothing below the HTTP edge imports from src/http", () => {
  const below = ["src/domain", "src/services", "src/resilience", "src/auctions", "src/adapters"];
  const offending = below.flatMap(imports).filter((i) => /(^|\/)http\//.test(i.spec));
  expect(offending).toEqual([]);
});

test("the domain imports no adapter, service, route or module", () => {
  const offending = imports("src/domain").filter((i) =>
    /\/(adapters|services|routes|modules|http|resilience)\//.test(i.spec),
  );
  expect(offending).toEqual([]);
});

// terraform/ imports the map to derive role needs: loading it must not start anything or need Bun.
test("the dependency map loads nothing at run time but the resolver", () => {
  const runtime = (dir: string, file: string) =>
    imports(dir)
      .filter((i) => i.file === `${dir}/${file}`)
      .filter(
        (i) =>
          !new RegExp(`import\\s+type\\b[^;]*"${i.spec}"`).test(readFileSync(join(ROOT, i.file), "utf8")),
      )
      .map((i) => i.spec);
  expect(runtime("src/modules", "deps.ts")).toEqual(["./graph.ts"]);
  expect(runtime("src/modules", "graph.ts")).toEqual([]);
});

/**
 * The static imports reachable from `entry` (type-only imports are elided, as the bundler elides them):
 * every package named, the way Bun's bundler would evaluate them eagerly. `import()` is not followed: a
 * module reached only through it is evaluated when first imported.
 */
function staticPackages(entry: string): Set<string> {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8").replace(/^#!.*/, "");
    for (const { path, kind } of transpiler.scanImports(source)) {
      if (kind !== "import-statement" || path.endsWith(".json")) continue;
      if (path.startsWith(".")) visit(join(file, "..", path));
      else if (!path.startsWith("node:") && !path.startsWith("bun")) {
        packages.add(
          path.startsWith("@") ? path.split("/").slice(0, 2).join("/") : (path.split("/")[0] ?? path),
        );
      }
    }
  };
  visit(join(ROOT, entry));
  return packages;
}

const HEAVY = [
  "hono",
  "jose",
  "redis",
  "pg",
  "pg-connection-string",
  "@aws-sdk/client-dynamodb",
  "@aws-sdk/lib-dynamodb",
  "@aws-sdk/client-sqs",
  "@aws-sdk/client-sns",
  "@aws-sdk/rds-signer",
  // Tracing is loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  "@opentelemetry/api",
  "@opentelemetry/sdk-trace",
  "@opentelemetry/exporter-trace-otlp-proto",
  "@opentelemetry/exporter-trace-otlp-http",
];

// What a command or a role does not use is imported when used (docs/architecture.md, "Loading only what a
// process runs"); a static import of an adapter on these paths would make every process evaluate it.
test("the CLI entry loads only configuration before a command picks its code", () => {
  expect([...staticPackages("src/main.ts")]).toEqual(["zod"]);
});

test("a role's lifecycle and the Lambda runtime load no framework, SDK or driver before their modules ask", () => {
  for (const entry of ["src/shop.ts", "src/lambda/run.ts"]) {
    const eager = staticPackages(entry);
    expect({ entry, heavy: HEAVY.filter((p) => eager.has(p)) }).toEqual({ entry, heavy: [] });
  }
});
