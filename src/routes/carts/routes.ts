import { createRoute, z } from "@hono/zod-openapi";
import { int32, int32PathParam } from "../../domain/ids.ts";
import { CardNumberSchema } from "../../domain/payments.ts";
import { errorResponses } from "../../http/errors.ts";
import { requires } from "../../http/security.ts";
import { idempotencyHeader } from "../headers.ts";

const params = z.object({ shoppingCartId: int32PathParam("shoppingCartId") });

export const createCart = createRoute({
  method: "post",
  path: "/shopping-carts",
  tags: ["Shopping Cart"],
  operationId: "createShoppingCart",
  security: requires("carts"),
  summary: "Create a new shopping cart",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ customer_id: int32(1) }) } },
    },
  },
  responses: {
    201: {
      description: "Shopping cart created",
      content: { "application/json": { schema: z.object({ shopping_cart_id: int32(1) }) } },
    },
    ...errorResponses(400, 413, 415, 503),
  },
});

export const CartViewSchema = z
  .object({
    shopping_cart_id: z.number().int(),
    customer_id: z.number().int(),
    status: z.enum(["open", "checked_out"]),
    order_id: z.number().int().optional(),
    items: z.array(
      z.object({
        product_id: z.number().int(),
        quantity: z.number().int(),
        unit_price: z.number().optional(),
      }),
    ),
  })
  .openapi("ShoppingCart");

export const getCart = createRoute({
  method: "get",
  path: "/shopping-carts/{shoppingCartId}",
  tags: ["Shopping Cart"],
  operationId: "getShoppingCart",
  security: requires("carts"),
  summary: "Get a shopping cart: lines, unit prices where the warehouse knows them, status",
  request: { params },
  responses: {
    200: { description: "The cart", content: { "application/json": { schema: CartViewSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export const addItem = createRoute({
  method: "post",
  path: "/shopping-carts/{shoppingCartId}/items",
  tags: ["Shopping Cart"],
  operationId: "addItemsToCart",
  security: requires("carts"),
  summary: "Add a product; a product already in the cart adds to its quantity",
  description:
    "400 CART_CHECKED_OUT once checkout began; 400 CART_PAID once the cart was paid ahead of its checkout " +
    "(what was paid must cover its order).",
  request: {
    params,
    body: {
      required: true,
      content: {
        "application/json": { schema: z.object({ product_id: int32(1), quantity: int32(1) }) },
      },
    },
  },
  responses: {
    204: { description: "Added" },
    ...errorResponses(400, 404, 413, 415, 503),
  },
});

export const checkoutCart = createRoute({
  method: "post",
  path: "/shopping-carts/{shoppingCartId}/checkout",
  tags: ["Shopping Cart"],
  operationId: "checkoutCart",
  security: requires("carts"),
  summary: "Reserve stock for every line and hand the order to the pipeline (payment, shipping)",
  request: {
    params,
    headers: idempotencyHeader,
    body: {
      required: false,
      description: "Optional beyond the contract: the card the pipeline charges (none: the account on file)",
      content: {
        "application/json": {
          schema: z.object({ credit_card_number: CardNumberSchema.optional() }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Order created (status pending); GET /orders/{order_id} follows it",
      content: { "application/json": { schema: z.object({ order_id: int32(1) }) } },
    },
    ...errorResponses(400, 404, 409, 413, 415, 503),
  },
});
