import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { int32PathParam, stringId } from "../../src/domain/ids.ts";
import { exactParserOf } from "../../src/util/exact-parse.ts";

/**
 * An exact parser gives safeParse's data or undefined (the schema then decides), and undefined wherever
 * safeParse fails. Returns whether it decided.
 */
function agrees(
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
  raw: string,
): boolean {
  const parse = exactParserOf(schema);
  if (!parse) throw new Error("schema has no exact parser");
  const r = schema.safeParse(raw);
  const exact = parse(raw);
  if (!r.success) expect(exact).toBeUndefined();
  else if (exact !== undefined) expect(Bun.deepEquals(exact, r.data, true)).toBe(true);
  return exact !== undefined || !r.success;
}

const digitsLike = fc.oneof(
  fc.stringMatching(/^[0-9]{0,12}$/),
  fc.stringMatching(/^[-+0-9.eE x]{0,12}$/),
  fc.integer({ min: -10, max: 2 ** 32 }).map(String),
  fc.constantFrom(
    "0",
    "01",
    "1",
    "2147483647",
    "2147483648",
    "9999999999",
    "1e3",
    "1.5",
    "",
    " 1",
    "abc",
    "12abc",
  ),
);

describe("exact parsers agree with their schemas", () => {
  const int32 = int32PathParam("id");
  test.each(["0", "-1", "abc", "12abc", "1.5", "1e3", "2147483648", "01", "", "1", "2147483647", "42"])(
    "int32PathParam %p: the parser decides alone",
    (raw) => expect(agrees(int32, raw)).toBe(true),
  );

  test("int32PathParam on generated segments", () => {
    fc.assert(
      fc.property(digitsLike, (raw) => expect(agrees(int32, raw)).toBe(true)),
      { numRuns: 5000 },
    );
  });

  const id = stringId(8);
  test("stringId on generated strings, control characters and surrogates included", () => {
    const chars = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.string({ unit: "binary", maxLength: 12 }),
      fc.constantFrom("", "a", "12345678", "123456789", "a\u0000b", "\ud800", "\ud83d\ude00", "x\u0085"),
    );
    fc.assert(
      fc.property(chars, (raw) => {
        agrees(id, raw);
      }),
      { numRuns: 5000 },
    );
  });

  test("stringId decides alone within its length in UTF-16 units, astral characters included", () => {
    for (const raw of ["a", "12345678", "\ud83d\ude00\ud83d\ude00", "a\u0000b", "\ud800", ""])
      expect(agrees(id, raw)).toBe(true);
    expect(exactParserOf(id)?.("12345678")).toBe("12345678");
  });

  test("a schema derived from one with a parser has none, so zod decides for it", () => {
    expect(exactParserOf(int32.optional())).toBeUndefined();
    expect(exactParserOf(stringId(8).describe("x"))).toBeUndefined();
  });
});
