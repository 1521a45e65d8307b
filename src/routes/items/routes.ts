import { createRoute, z } from "@hono/zod-openapi";
import { bidMoney, ITEM_ID, ITEM_STATUSES } from "../../domain/auctions.ts";
import { stringId } from "../../domain/ids.ts";
import { errorResponses } from "../../http/errors.ts";
import { PUBLIC, requires } from "../../http/security.ts";

const itemId = z
  .string()
  .regex(ITEM_ID, "must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
  .openapi({ example: "vintage-lamp-42" });

const timestamp = z.string().openapi({ example: "2030-01-01T12:00:00.000Z" });

export const ItemSchema = z
  .object({
    item_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(ITEM_STATUSES),
    start_price: z.number().openapi({ example: 100 }),
    min_increment: z.number().openapi({ example: 0.01 }),
    current_bid: z.number().openapi({ example: 100.57, description: "0 until the first bid" }),
    highest_bidder_id: z.string().nullable(),
    bid_count: z.number().int(),
    ends_at: timestamp.openapi({ description: "Moves later when a bid extends the auction" }),
    extend_window_s: z.number().int(),
    max_end_at: timestamp,
    reserve_met: z.boolean().openapi({ description: "Someone leads at or above the (hidden) reserve price" }),
    settlement_status: z.enum(["pending", "settled", "settlement_failed"]).nullable(),
    order_id: z
      .string()
      .nullable()
      .openapi({ description: "The order a win becomes, once closed with a winner" }),
    relisted_from: z.string().nullable(),
    relisted_as: z.string().nullable().openapi({ description: "The new listing after a failed settlement" }),
  })
  .openapi("AuctionItem");

const future = (field: string) =>
  z.iso
    .datetime({ offset: true })
    .refine((s) => Date.parse(s) > Date.now(), "must be in the future")
    .openapi({ example: "2030-01-01T12:00:00Z", description: `${field}: ISO 8601, in the future` });

const NewItemSchema = z
  .object({
    item_id: itemId.optional().openapi({ description: "Generated when absent" }),
    name: z.string().min(1).max(200),
    description: z.string().max(5000).optional(),
    start_price: bidMoney(100),
    min_increment: bidMoney(0.01).optional().openapi({ description: "Default 0.01" }),
    ends_at: future("ends_at"),
    extend_window_s: z.number().int().min(0).max(86_400).optional().openapi({
      description: "Anti-sniping: a bid in the last this-many seconds moves ends_at; 0 (default) = off",
    }),
    max_end_at: future("max_end_at")
      .optional()
      .openapi({ description: "No extension goes past it; default ends_at + 1 h when extend_window_s > 0" }),
    reserve_price: bidMoney(150)
      .optional()
      .openapi({ description: "Hidden minimum for a sale; never returned (GET shows reserve_met)" }),
  })
  .openapi("NewAuctionItem");

const BidSchema = z
  .object({
    user_id: stringId(128).openapi({ example: "17" }),
    amount: bidMoney(100.57),
    max_amount: bidMoney(150).optional().openapi({
      description: "Proxy bid: the book bids for you, one increment above others, up to this hidden maximum",
    }),
  })
  .openapi("Bid");

const BidAcceptedSchema = z
  .object({
    accepted: z.literal(true),
    bid_id: z.string(),
    event_id: z
      .string()
      .openapi({ description: "The last stream event the bid appended (resume a feed after it)" }),
    item_id: z.string(),
    amount: z.number().openapi({ description: "Where your bid stands (automatic bids included)" }),
    previous_bid: z.number(),
    current_bid: z.number(),
    leading: z.boolean().openapi({ description: "false when another bidder's maximum outbid you at once" }),
    ends_at: timestamp,
  })
  .openapi("BidAccepted");

const params = z.object({
  itemId: itemId.openapi({ param: { name: "itemId", in: "path", required: true } }),
});

const limit = z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 });

const ItemListQuery = z.object({
  status: z.enum(ITEM_STATUSES).optional(),
  ending_before: z.iso.datetime({ offset: true }).optional().openapi({ example: "2030-01-01T12:00:00Z" }),
  cursor: itemId.optional().openapi({ description: "next_cursor of the previous page" }),
  limit,
});

const ItemPageSchema = z
  .object({
    items: z.array(ItemSchema),
    next_cursor: z.string().nullable().openapi({ description: "null on the last page" }),
  })
  .openapi("AuctionItemPage");

const BidListQuery = z.object({
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "must be a next_cursor from the previous page")
    .transform(Number)
    .optional(),
  limit,
});

const BidPageSchema = z
  .object({
    bids: z.array(
      z.object({
        bid_id: z.string(),
        user_id: z.string(),
        amount: z.number(),
        auto: z.boolean(),
        timestamp,
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("BidPage");

export const createItem = createRoute({
  method: "post",
  path: "/api/v1/items",
  tags: ["Auctions"],
  operationId: "createAuctionItem",
  security: requires("auctions:write"),
  summary: "Open an auction",
  request: { body: { required: true, content: { "application/json": { schema: NewItemSchema } } } },
  responses: {
    201: { description: "Item created", content: { "application/json": { schema: ItemSchema } } },
    ...errorResponses(400, 401, 409, 413, 415, 503),
  },
});

export const listItems = createRoute({
  method: "get",
  path: "/api/v1/items",
  tags: ["Auctions"],
  operationId: "listAuctionItems",
  security: PUBLIC,
  summary: "Items in item_id order, one page at a time (a cursor is stable under concurrent writes)",
  request: { query: ItemListQuery },
  responses: {
    200: { description: "A page of items", content: { "application/json": { schema: ItemPageSchema } } },
    ...errorResponses(400, 503),
  },
});

export const getItem = createRoute({
  method: "get",
  path: "/api/v1/items/{itemId}",
  tags: ["Auctions"],
  operationId: "getAuctionItem",
  security: PUBLIC,
  summary: "An auction's live state",
  request: { params },
  responses: {
    200: { description: "The item", content: { "application/json": { schema: ItemSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export const listBids = createRoute({
  method: "get",
  path: "/api/v1/items/{itemId}/bids",
  tags: ["Auctions"],
  operationId: "listAuctionBids",
  security: PUBLIC,
  summary: "An item's bids, newest first (from the archive when DATABASE_URL is set, else the book)",
  request: { params, query: BidListQuery },
  responses: {
    200: { description: "A page of bids", content: { "application/json": { schema: BidPageSchema } } },
    ...errorResponses(400, 404, 503),
  },
});

export const placeBid = createRoute({
  method: "post",
  path: "/api/v1/items/{itemId}/bid",
  tags: ["Auctions"],
  operationId: "placeBid",
  security: requires("bids"),
  summary: "Bid; accepted iff open and amount >= max(start_price, current_bid + min_increment)",
  request: { params, body: { required: true, content: { "application/json": { schema: BidSchema } } } },
  responses: {
    201: { description: "Bid accepted", content: { "application/json": { schema: BidAcceptedSchema } } },
    ...errorResponses(400, 404, 409, 413, 415, 503),
  },
});
