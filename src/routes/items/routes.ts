import { createRoute, z } from "@hono/zod-openapi";
import { bidMoney, ITEM_ID } from "../../domain/auctions.ts";
import { stringId } from "../../domain/ids.ts";
import { errorResponses } from "../../http/errors.ts";

const itemId = z
  .string()
  .regex(ITEM_ID, "must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
  .openapi({ example: "vintage-lamp-42" });

export const ItemSchema = z
  .object({
    item_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(["open", "closed"]),
    start_price: z.number().openapi({ example: 100 }),
    min_increment: z.number().openapi({ example: 0.01 }),
    current_bid: z.number().openapi({ example: 100.57, description: "0 until the first bid" }),
    highest_bidder_id: z.string().nullable(),
    bid_count: z.number().int(),
    ends_at: z.string().openapi({ example: "2030-01-01T12:00:00.000Z" }),
  })
  .openapi("AuctionItem");

const NewItemSchema = z
  .object({
    item_id: itemId.optional().openapi({ description: "Generated when absent" }),
    name: z.string().min(1).max(200),
    description: z.string().max(5000).optional(),
    start_price: bidMoney(100),
    min_increment: bidMoney(0.01).optional().openapi({ description: "Default 0.01" }),
    ends_at: z.iso
      .datetime({ offset: true })
      .refine((s) => Date.parse(s) > Date.now(), "must be in the future")
      .openapi({ example: "2030-01-01T12:00:00Z", description: "ISO 8601, in the future" }),
  })
  .openapi("NewAuctionItem");

const BidSchema = z
  .object({
    user_id: stringId(128).openapi({ example: "user-17" }),
    amount: bidMoney(100.57),
  })
  .openapi("Bid");

const BidAcceptedSchema = z
  .object({
    accepted: z.literal(true),
    bid_id: z.string(),
    event_id: z.string(),
    item_id: z.string(),
    amount: z.number(),
    previous_bid: z.number(),
  })
  .openapi("BidAccepted");

const params = z.object({
  itemId: itemId.openapi({ param: { name: "itemId", in: "path", required: true } }),
});

export const createItem = createRoute({
  method: "post",
  path: "/api/v1/items",
  tags: ["Auctions"],
  operationId: "createAuctionItem",
  summary: "Open an auction (Bearer ADMIN_TOKEN when that is set)",
  request: { body: { required: true, content: { "application/json": { schema: NewItemSchema } } } },
  responses: {
    201: { description: "Item created", content: { "application/json": { schema: ItemSchema } } },
    ...errorResponses(400, 401, 409, 413, 415, 503),
  },
});

export const getItem = createRoute({
  method: "get",
  path: "/api/v1/items/{itemId}",
  tags: ["Auctions"],
  operationId: "getAuctionItem",
  summary: "An auction's live state",
  request: { params },
  responses: {
    200: { description: "The item", content: { "application/json": { schema: ItemSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export const placeBid = createRoute({
  method: "post",
  path: "/api/v1/items/{itemId}/bid",
  tags: ["Auctions"],
  operationId: "placeBid",
  summary: "Bid; accepted iff open and amount >= max(start_price, current_bid + min_increment)",
  request: { params, body: { required: true, content: { "application/json": { schema: BidSchema } } } },
  responses: {
    201: { description: "Bid accepted", content: { "application/json": { schema: BidAcceptedSchema } } },
    ...errorResponses(400, 404, 409, 413, 415, 503),
  },
});
