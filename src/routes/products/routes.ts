import { createRoute, z } from "@hono/zod-openapi";
import { int32PathParam } from "../../domain/ids.ts";
import { ProductSchema } from "../../domain/products.ts";
import { errorResponses } from "../../http/errors.ts";
import { requires } from "../../http/security.ts";

const params = z.object({ productId: int32PathParam("productId") });

export const getProduct = createRoute({
  method: "get",
  path: "/products/{productId}",
  tags: ["Products"],
  operationId: "getProduct",
  security: requires("catalog:read"),
  summary: "Get product by ID",
  request: { params },
  responses: {
    200: { description: "Product found", content: { "application/json": { schema: ProductSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export const addProductDetails = createRoute({
  method: "post",
  path: "/products/{productId}/details",
  tags: ["Products"],
  operationId: "addProductDetails",
  security: requires("catalog:write"),
  summary: "Add or replace product details",
  request: {
    params,
    body: { required: true, content: { "application/json": { schema: ProductSchema } } },
  },
  responses: {
    204: { description: "Product details stored" },
    // 404 never happens (a POST creates the product) but the contract lists it.
    ...errorResponses(400, 404, 413, 415, 503),
  },
});
