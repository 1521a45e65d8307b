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
 * A name chosen outside shop that only one role checks (a bidder's user id from an identity provider,
 * a SKU-style product reference), the one rule for it: 1..max characters, none of them a control
 * character (NUL, newlines, escapes: they break keys, logs and terminals) or an unpaired surrogate (not
 * Unicode; stores re-encode it as U+FFFD, another id). Ids that pass between roles are ORDER_ID's.
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

/** The characters of an order id: ASCII letters and digits, `.`, `_`, `:` and `-`. */
const ID_CHARS = "A-Za-z0-9._:-";
const ID_MAX = 64;

/**
 * An order id, the one rule of every role that handles one: the api stores and publishes it, the
 * processor (ECS or Lambda) reads it back from the queue and refuses anything else as malformed. ASCII,
 * so every way of counting agrees — JavaScript's UTF-16 length, code points, bytes (DynamoDB's key
 * limit, SQS) — and an id is the same in a URL path, a key, a log line and a message.
 */
export const ORDER_ID = new RegExp(`^[${ID_CHARS}]{1,${ID_MAX}}$`);

const ORDER_ID_RULE = `1 to ${ID_MAX} characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'`;

/** Any order id (GET /orders/{order_id}, the queue's messages). */
export const OrderIdSchema = z
  .string()
  .min(1)
  .max(ID_MAX)
  .regex(ORDER_ID, `must be ${ORDER_ID_RULE}`)
  .openapi({ description: `An order id: ${ORDER_ID_RULE}`, example: "order-0001" });

export const CLIENT_ORDER_ID_RULE = `${ORDER_ID_RULE}; not digits alone, which are the ids checkout allocates`;

/**
 * An order id a client chooses (POST /orders/*). A cart order's id is the int32 checkout allocates
 * (api.yaml answers it as an integer), stored as its decimal string, so ids of digits alone are the
 * checkout's: a client's id has some other character, and no client can take an id checkout will
 * allocate. One pattern, so the OpenAPI document states the whole rule.
 */
export const ClientOrderIdSchema = z
  .string()
  .min(1)
  .max(ID_MAX)
  .regex(
    new RegExp(`^[${ID_CHARS}]*[${ID_CHARS.replace("0-9", "")}][${ID_CHARS}]*$`),
    `must be ${ORDER_ID_RULE}, not digits alone (those are cart orders' ids)`,
  )
  .openapi({ description: CLIENT_ORDER_ID_RULE, example: "order-0001" });

/** Whether `value` is an order id: the processor's check, by the schema the api validates with. */
export const isOrderId = (value: unknown): value is string => OrderIdSchema.safeParse(value).success;
