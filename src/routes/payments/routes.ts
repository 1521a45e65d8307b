import { createRoute, z } from "@hono/zod-openapi";
import { int32 } from "../../domain/ids.ts";
import { errorResponses } from "../../http/errors.ts";
import { idempotencyHeader } from "../headers.ts";

export const processPayment = createRoute({
  method: "post",
  path: "/payments/checkout",
  tags: ["Payments"],
  operationId: "processPayment",
  summary: "Charge a card for a shopping cart's total (simulated gateway, PAYMENT_SIM_MS)",
  request: {
    headers: idempotencyHeader,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            credit_card_number: z
              .string()
              .regex(/^[0-9]{13,19}$/, "must be 13 to 19 digits")
              .openapi({ example: "4242424242424242" }),
            shopping_cart_id: int32(1),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Payment approved",
      content: {
        "application/json": {
          schema: z.object({ success: z.literal(true), transaction_id: z.string() }),
        },
      },
    },
    ...errorResponses(400, 402, 404, 409, 413, 415, 503),
  },
});
