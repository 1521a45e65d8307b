/**
 * Exact parsers: a plain function that returns what a zod schema's safeParse returns on success, and
 * undefined wherever safeParse would fail (or where the function cannot decide cheaply: the schema then
 * decides). The HTTP layer runs it for the path parameters of every request and keeps the schema for
 * the document and for describing a failure: safeParse of a one-field
 * params object was a fifth of a product read's CPU (docs/benchmarks.md). tests/unit/exact-parse.test.ts
 * checks each parser against its schema on generated input.
 */
const parsers = new WeakMap<object, (raw: string) => unknown>();

/** Attaches `parse` to `schema` (the final schema instance, after any .openapi()) and returns the schema. */
export function withExactParser<S extends object>(schema: S, parse: (raw: string) => unknown): S {
  parsers.set(schema, parse);
  return schema;
}

export function exactParserOf(schema: object): ((raw: string) => unknown) | undefined {
  return parsers.get(schema);
}
