import { createRoute, z } from "@hono/zod-openapi";
import { INT32_MAX, int32, int32PathParam } from "../../domain/ids.ts";
import { MAX_PRICE, moneyCents } from "../../domain/money.ts";
import { errorResponses } from "../../http/errors.ts";
import { requires } from "../../http/security.ts";

const stockBody = {
  required: true,
  content: { "application/json": { schema: z.object({ product_id: int32(1), quantity: int32(1) }) } },
};

export const reserve = createRoute({
  method: "post",
  path: "/warehouse/reserve",
  tags: ["Warehouse"],
  operationId: "reserveInventory",
  security: requires("warehouse"),
  summary: "Reserve available stock",
  request: { body: stockBody },
  responses: { 204: { description: "Reserved" }, ...errorResponses(400, 404, 413, 415, 503) },
});

export const ship = createRoute({
  method: "post",
  path: "/warehouse/ship",
  tags: ["Warehouse"],
  operationId: "shipProduct",
  security: requires("warehouse"),
  summary: "Ship reserved stock",
  request: { body: stockBody },
  responses: { 204: { description: "Shipped" }, ...errorResponses(400, 404, 413, 415, 503) },
});

const params = z.object({ productId: int32PathParam("productId") });

export const setStock = createRoute({
  method: "put",
  path: "/warehouse/stock/{productId}",
  tags: ["Warehouse"],
  operationId: "setStock",
  security: requires("stock:write"),
  summary: "Set the available quantity",
  request: {
    params,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            quantity: z.number().int().min(0).max(INT32_MAX),
            price: moneyCents({ min: 0, max: MAX_PRICE, example: 19.99 })
              .optional()
              .openapi({ description: "Unit price carts and checkout use" }),
          }),
        },
      },
    },
  },
  responses: { 204: { description: "Stock set" }, ...errorResponses(400, 401, 403, 413, 415, 503) },
});

export const StockSchema = z
  .object({
    product_id: z.number().int(),
    available: z.number().int(),
    reserved: z.number().int(),
    shipped: z.number().int(),
    price: z.number().optional(),
  })
  .openapi("Stock");

export const getStock = createRoute({
  method: "get",
  path: "/warehouse/stock/{productId}",
  tags: ["Warehouse"],
  operationId: "getStock",
  security: requires("warehouse"),
  summary: "Stock of one product: available, reserved, shipped",
  request: { params },
  responses: {
    200: { description: "Stock", content: { "application/json": { schema: StockSchema } } },
    ...errorResponses(400, 404, 503),
  },
});
