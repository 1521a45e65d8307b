import { createRoute, z } from "@hono/zod-openapi";
import { int32 } from "../../domain/ids.ts";
import { CardNumberSchema } from "../../domain/payments.ts";
import { errorResponses } from "../../http/errors.ts";
import { requires } from "../../http/security.ts";
import { idempotencyHeader } from "../headers.ts";

export const processPayment = createRoute({
  method: "post",
  path: "/payments/checkout",
  tags: ["Payments"],
  operationId: "processPayment",
  security: requires("payments"),
  summary: "Charge a card for a shopping cart's total (simulated gateway, PAYMENT_SIM_MS)",
  description:
    "A cart is charged at most once, whichever of this endpoint or its order pays it, and only for a live " +
    "order: the cart of a failed order is 400 ORDER_FAILED, and nothing is charged. Paying a cart before its " +
    "checkout fixes its lines at the prices charged: it takes no more items (400 CART_PAID) and its order " +
    "totals what was paid.",
  request: {
    headers: idempotencyHeader,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            credit_card_number: CardNumberSchema,
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
