/** The contract, api.yaml, from the shared folder beside the repository (CI lays it beside the clone). */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./shop.ts";

export interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface JsonSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  [constraint: string]: unknown;
}

/** The first `shared/reference/api.yaml` in the repository's parent folders. */
export function contractPath(): string {
  for (let dir = ROOT; ; dir = dirname(dir)) {
    const candidate = join(dir, "..", "shared", "reference", "api.yaml");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no shared/reference/api.yaml above ${ROOT}`);
  }
}

export async function loadContract(): Promise<OpenApiDocument> {
  return Bun.YAML.parse(await Bun.file(contractPath()).text()) as OpenApiDocument;
}

/** Follows a local `#/components/schemas/X` reference. */
export function resolve(doc: OpenApiDocument, schema: JsonSchema | undefined): JsonSchema | undefined {
  if (!schema?.$ref) return schema;
  const name = schema.$ref.replace("#/components/schemas/", "");
  return resolve(doc, doc.components?.schemas?.[name]);
}

/** Every api.yaml operation as [path, method, operation]. */
export function operations(doc: OpenApiDocument): [string, string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => [path, method, op] as [string, string, Operation]),
  );
}
