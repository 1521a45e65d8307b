import { z } from "@hono/zod-openapi";

/** The Idempotency-Key header of the routes whose use case is idempotent by key (checkout, payments). */
export const idempotencyHeader = z.object({
  // Lower case: headers arrive lower-cased, and the OpenAPI parameter must carry the schema key's name.
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({
      param: { name: "idempotency-key", in: "header" },
      description: "Same key and body: the first answer replayed; same key, other body: 409",
    }),
});
