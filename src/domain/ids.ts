import { z } from "@hono/zod-openapi";
import { withExactParser } from "../util/exact-parse.ts";

export const INT32_MAX = 2_147_483_647;

/** A JSON integer in min..int32 max; strings are not coerced ("123" is not 123). */
export const int32 = (min: number) => z.number().int().min(min).max(INT32_MAX).openapi({ format: "int32" });

const INT32_SEGMENT = /^[1-9][0-9]{0,9}$/;

/** int32PathParam's rule as a plain function (see util/exact-parse.ts). */
function parseInt32Segment(raw: string): number | undefined {
  if (!INT32_SEGMENT.test(raw)) return undefined;
  const n = Number(raw);
  return n <= INT32_MAX ? n : undefined;
}

/**
 * A path segment holding an int32 id >= 1: plain decimal digits only, so `1e3`, `1.5`, `+1`, `01`
 * and `2147483648` are all rejected rather than silently converted.
 */
export const int32PathParam = (name: string) =>
  withExactParser(
    z
      .string()
      .regex(INT32_SEGMENT, "must be an integer in 1..2147483647")
      .transform(Number)
      .refine((n) => n <= INT32_MAX, "must be an integer in 1..2147483647")
      .openapi({
        param: { name, in: "path", required: true },
        type: "integer",
        format: "int32",
        minimum: 1,
        example: 12345,
      }),
    parseInt32Segment,
  );

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const STRING_ID = /^(?:[^\x00-\x1f\x7f-\x9f\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;

/**
 * A string id (order ids, bidder ids, SKU-style product references), the one rule for every role:
 * 1..max characters, none of them a control character (NUL, newlines, escapes: they break keys, logs
 * and terminals) or an unpaired surrogate (not Unicode; stores re-encode it as U+FFFD, another id).
 */
export const stringId = (max: number) =>
  withExactParser(
    z
      .string()
      .min(1)
      .max(max)
      // No `u` flag: the pattern is published in the OpenAPI document, where a flag cannot go; the
      // surrogate pair alternative reads the same with or without one.
      .regex(STRING_ID, "must not contain control characters or unpaired surrogates"),
    // zod counts code points: within `max` UTF-16 units is within `max` code points; a longer string is
    // left to the schema.
    (raw) => (raw.length >= 1 && raw.length <= max && STRING_ID.test(raw) ? raw : undefined),
  );
