/**
 * fast-check arbitraries from the OpenAPI document's JSON schemas: inputs a schema accepts, and inputs
 * that break it in exactly one place. The document is built from the routes' zod schemas, so every
 * route's input schema is covered without restating it here. Money says its bounds and, as
 * `x-decimals`, its two decimals; what the document cannot say (a date in the future) comes from
 * `hints`, by field name.
 */
import fc from "fast-check";
import { type JsonSchema, type OpenApiDocument, resolve } from "./contract.ts";

const INT32_MAX = 2_147_483_647;

/** Fields whose rule the document leaves out (zod refinements), by property name. */
export interface Hints {
  valid: Record<string, fc.Arbitrary<unknown>>;
  invalid: Record<string, fc.Arbitrary<unknown>>;
}

const future = (minMs: number) =>
  fc
    .integer({ min: minMs, max: minMs + 10 * 365 * 86_400_000 })
    .map((ms) => new Date(Date.now() + ms).toISOString());
const notFuture = fc.constantFrom("2001-01-01T00:00:00Z", "tomorrow", "", 1, null);
export const defaultHints: Hints = {
  valid: {
    ends_at: future(60_000),
    // Past any generated ends_at: a cap before the end is a business-rule refusal, not a schema one.
    max_end_at: future(10 * 365 * 86_400_000 + 60_000),
  },
  invalid: { ends_at: notFuture, max_end_at: notFuture },
};

/** Text a free-text field accepts: any well-formed Unicode without control characters. */
const text = (minLength: number, maxLength: number) =>
  fc
    .string({ unit: "grapheme", minLength, maxLength: Math.min(maxLength, minLength + 40) })
    .filter((s) => !/\p{Cc}/u.test(s) && s.length >= minLength && s.length <= maxLength);

/**
 * Whether `v` meets a string schema. NUL and unpaired surrogates never do: the edge refuses them in
 * every string, whatever the field's own schema says.
 */
function stringFits(s: JsonSchema, v: string): boolean {
  if (/\0|[\ud800-\udfff]/.test(v)) return false;
  if (v.length < Number(s.minLength ?? 0) || v.length > Number(s.maxLength ?? Number.POSITIVE_INFINITY))
    return false;
  return typeof s.pattern !== "string" || new RegExp(s.pattern, "u").test(v);
}

/** Strings within a string schema's length and pattern. */
function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  if (s.format === "date-time")
    return fc
      .date({
        min: new Date("2000-01-01T00:00:00Z"),
        max: new Date("2100-01-01T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  const [min, max] = [Number(s.minLength ?? 0), Number(s.maxLength ?? 200)];
  if (typeof s.pattern !== "string") return text(min, max);
  const re = new RegExp(s.pattern, "u");
  // fast-check generates from plain patterns; a Unicode property class filters free text instead.
  const base = s.pattern.includes("\\p{") ? text(min, max) : fc.stringMatching(re);
  return base.filter((v) => re.test(v) && v.length >= min && v.length <= max);
}

export function validArb(
  doc: OpenApiDocument,
  schema: JsonSchema | undefined,
  hints = defaultHints,
  name = "",
): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  if (!s) return fc.constant(undefined);
  const hinted = hints.valid[name];
  if (hinted) return hinted;
  if (Array.isArray(s.anyOf))
    return fc.oneof(...(s.anyOf as JsonSchema[]).map((a) => validArb(doc, a, hints, name)));
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  switch (s.type) {
    case "object": {
      const props = Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([k, v]) => [k, validArb(doc, v, hints, k)]),
      );
      return fc.record(props, { requiredKeys: s.required ?? [] });
    }
    case "array":
      return fc.array(validArb(doc, s.items as JsonSchema, hints, name), {
        minLength: Number(s.minItems ?? 0),
        maxLength: Math.min(Number(s.maxItems ?? 3), 3),
      });
    case "integer":
      return fc.integer({ min: Number(s.minimum ?? -INT32_MAX - 1), max: Number(s.maximum ?? INT32_MAX) });
    case "number": {
      const [min, max] = [Number(s.minimum ?? -1e9), Number(s.maximum ?? 1e9)];
      if (s["x-decimals"] === undefined) {
        return fc.double({ min, max, noNaN: true }).filter((n) => !s.exclusiveMinimum || n > min);
      }
      // Money: whole cents within the bounds, mostly everyday amounts, sometimes the extremes.
      const unit = 10 ** Number(s["x-decimals"]);
      const low = Math.round(min * unit) + (s.exclusiveMinimum ? 1 : 0);
      const high = Math.round(max * unit);
      return fc
        .oneof(
          { weight: 4, arbitrary: fc.integer({ min: low, max: Math.min(high, low + 100_000_000) }) },
          { weight: 1, arbitrary: fc.constantFrom(low, high) },
        )
        .map((units) => units / unit);
    }
    case "boolean":
      return fc.boolean();
    case "string":
      return stringArb(s);
    default:
      return fc.constant(null);
  }
}

/** Values that break `schema` (one field's rule), for one value in place of a valid one. */
export function invalidValueArb(
  doc: OpenApiDocument,
  schema: JsonSchema | undefined,
  hints = defaultHints,
  name = "",
): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  const hinted = hints.invalid[name];
  if (hinted) return hinted;
  if (!s) return fc.constant({});
  const options: fc.Arbitrary<unknown>[] = [fc.constant(null), fc.constant([])];
  switch (s.type) {
    case "integer":
      options.push(fc.constant("1"), fc.constant(1.5));
      if (s.minimum !== undefined) options.push(fc.constant(Number(s.minimum) - 1));
      options.push(fc.constant(Number(s.maximum ?? INT32_MAX) + 1));
      break;
    case "number":
      options.push(fc.constant("1"));
      if (s.minimum !== undefined) {
        options.push(fc.constant(Number(s.minimum) - 1));
        if (s.exclusiveMinimum) options.push(fc.constant(Number(s.minimum)));
      }
      if (s.maximum !== undefined) options.push(fc.constant(Number(s.maximum) * 10));
      if (s["x-decimals"] !== undefined) options.push(fc.constant(1.001));
      break;
    case "string": {
      options.push(fc.constant(7));
      const candidates = ["a\u0000b", "\ud800", "", "no match!", "x".repeat(Number(s.maxLength ?? 0) + 1)];
      const broken = candidates.filter((c) => !stringFits(s, c));
      if (broken.length > 0) options.push(fc.constantFrom(...broken));
      break;
    }
    case "object":
      options.push(fc.constant("{}"));
      break;
    case "array":
      options.push(fc.constant({}));
      if (s.minItems !== undefined && Number(s.minItems) > 0) options.push(fc.constant([]));
      break;
    default:
      break;
  }
  return fc.oneof(...options);
}

/**
 * An object schema's value with exactly one rule broken: a required field missing, or one field (at
 * any depth) holding a value its schema refuses.
 */
export function invalidObjectArb(
  doc: OpenApiDocument,
  schema: JsonSchema | undefined,
  hints = defaultHints,
): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  if (s?.type !== "object") return invalidValueArb(doc, s, hints);
  const props = Object.entries(s.properties ?? {});
  const broken: fc.Arbitrary<unknown>[] = [fc.constantFrom("not an object", 42, null, [])];
  for (const field of s.required ?? []) {
    broken.push(
      validArb(doc, s, hints).map((v) => {
        const { [field]: _, ...rest } = v as Record<string, unknown>;
        return rest;
      }),
    );
  }
  for (const [field, fieldSchema] of props) {
    const inner = resolve(doc, fieldSchema);
    const bad =
      inner?.type === "object"
        ? invalidObjectArb(doc, inner, hints)
        : inner?.type === "array" && resolve(doc, inner.items as JsonSchema)?.type === "object"
          ? fc.oneof(
              invalidValueArb(doc, inner, hints, field),
              invalidObjectArb(doc, inner.items as JsonSchema, hints).map((item) => [item]),
            )
          : invalidValueArb(doc, inner, hints, field);
    broken.push(
      fc
        .tuple(validArb(doc, s, hints), bad)
        .map(([v, b]) => ({ ...(v as Record<string, unknown>), [field]: b })),
    );
  }
  return fc.oneof(...broken);
}

/**
 * Candidate order ids for the one-rule properties: any text (astral characters, controls, lone
 * surrogates), the id alphabet at every length, digits alone (checkout's ids), and the reported one.
 */
export const orderIdCandidates: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 70 }),
  fc.string({ unit: "grapheme", maxLength: 70 }),
  fc.stringMatching(/^[A-Za-z0-9._:-]{0,70}$/),
  fc.stringMatching(/^[0-9]{1,12}$/),
  fc.constantFrom(`q-${"\u{1F600}".repeat(33)}`, "x".repeat(64), "x".repeat(65), "é", " ", ""),
);
