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
