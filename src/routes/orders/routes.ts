import { createRoute, z } from "@hono/zod-openapi";
import { OrderIdSchema } from "../../domain/ids.ts";
import { OrderInputSchema, OrderViewSchema } from "../../domain/orders.ts";
import { errorResponses } from "../../http/errors.ts";
import { requires } from "../../http/security.ts";

const body = { required: true, content: { "application/json": { schema: OrderInputSchema } } };

export const placeOrderSync = createRoute({
  method: "post",
  path: "/orders/sync",
  tags: ["Orders"],
  operationId: "placeOrderSync",
  security: requires("orders"),
  summary: "Place an order and pay for it before answering (PAYMENT_SIM_MS)",
  request: { body },
  responses: {
    200: { description: "Order paid", content: { "application/json": { schema: OrderViewSchema } } },
    ...errorResponses(400, 409, 413, 415, 503),
  },
});

export const AcceptedSchema = z
  .object({
    order_id: z.string(),
    status: z.literal("pending"),
    message_id: z.string(),
  })
  .openapi("OrderAccepted");

export const placeOrderAsync = createRoute({
  method: "post",
  path: "/orders/async",
  tags: ["Orders"],
  operationId: "placeOrderAsync",
  security: requires("orders"),
  summary: "Accept an order for the processor: stored as pending and queued",
  request: { body },
  responses: {
    202: { description: "Order accepted", content: { "application/json": { schema: AcceptedSchema } } },
    ...errorResponses(400, 409, 413, 415, 503),
  },
});

export const getOrder = createRoute({
  method: "get",
  path: "/orders/{order_id}",
  tags: ["Orders"],
  operationId: "getOrder",
  security: requires("orders"),
  summary: "Get an order and its status",
  request: {
    params: z.object({
      order_id: OrderIdSchema.openapi({ param: { name: "order_id", in: "path", required: true } }),
    }),
  },
  responses: {
    200: { description: "The order", content: { "application/json": { schema: OrderViewSchema } } },
    ...errorResponses(400, 404, 503),
  },
});
