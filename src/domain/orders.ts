import { z } from "@hono/zod-openapi";
import { CLIENT_ORDER_ID_RULE, ClientOrderIdSchema, int32, isOrderId, stringId } from "./ids.ts";
import { fromCents, MAX_PRICE, moneyNumber, toCents } from "./money.ts";

/** A product id is an int32 or a string: the seeds' clients send SKUs like "SKU-001". */
const ProductRef = z.union([int32(1), stringId(64)]).openapi({ example: 12345 });

const Price = moneyNumber({ min: 0, max: MAX_PRICE, example: 19.99 });

export const OrderItemSchema = z.object({
  product_id: ProductRef,
  quantity: z.number().int().min(1).max(10_000),
  price: Price,
});

export const OrderInputSchema = z
  .object({
    order_id: ClientOrderIdSchema.optional().openapi({
      description: `${CLIENT_ORDER_ID_RULE}. Generated when absent`,
    }),
    customer_id: int32(1).openapi({ example: 123 }),
    items: z.array(OrderItemSchema).min(1).max(100),
  })
  .openapi("OrderInput");

export type OrderInput = z.infer<typeof OrderInputSchema>;

export const ORDER_STATUSES = ["pending", "processing", "completed", "failed"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderLine {
  product_id: number | string;
  quantity: number;
  price_cents: number;
}

/** How the order came in: the replay rules and the processor's side effects depend on it. */
export type OrderSource = "sync" | "async" | "cart";

export interface Order {
  order_id: string;
  customer_id: number;
  items: OrderLine[];
  total_cents: number;
  status: OrderStatus;
  failure_reason?: string;
  source: OrderSource;
  /** Identifies the request that created the order, so a retry with the same order_id can be told apart. */
  request_hash: string;
  /** Sync orders: the request that created it, so that request recognises its own write after a lost answer. */
  request_id?: string;
  /**
   * The id of the outbox record written with the order: async and cart orders answer it as `message_id`;
   * a sync order's record is its takeover (below), removed once its payer finishes it.
   */
  message_id?: string;
  /**
   * Sync orders: epoch ms after which anyone may finish the order if it is still processing (its payer
   * gave up on an unknown outcome, or died): a resend with its order_id, or the processor, to which its
   * outbox record is published from then on. They charge under the order's key, so a takeover while the
   * payer still runs is only duplicate work, never a second charge.
   */
  takeover_at?: number;
  /**
   * Cart orders checked out with an Idempotency-Key: a digest of the key and the request body, so a resend
   * of that request whose first answer was lost recognises the checkout as its own.
   */
  checkout_request?: string;
  /** Cart orders: the card to charge and the cart, whose stock reservations the processor ships or releases. */
  card_number?: string;
  cart_id?: number;
  /**
   * Cart orders: where the stock taken for this order is. It moves with the order in one atomic step
   * (reserved at checkout, shipped on completion, released on failure), so stock is never reserved for an
   * order that does not exist and never moved twice, with no per-order tags on the stock item.
   */
  stock?: "reserved" | "shipped" | "released";
  transaction_id?: string;
  created_at: string;
  updated_at: string;
}

export const OrderViewSchema = z
  .object({
    order_id: z.union([z.string(), z.number().int()]).openapi({ example: "order-0001" }),
    customer_id: z.number().int(),
    items: z.array(OrderItemSchema),
    total: z.number().openapi({ example: 39.98 }),
    status: z.enum(ORDER_STATUSES),
    failure_reason: z.string().optional(),
    transaction_id: z.string().optional(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Order");

export type OrderView = z.infer<typeof OrderViewSchema>;

export function lineTotal(items: readonly OrderLine[]): number {
  return items.reduce((sum, l) => sum + l.price_cents * l.quantity, 0);
}

/** The input as lines in cents; the schema has already refused prices toCents cannot represent. */
export function toLines(items: OrderInput["items"]): OrderLine[] {
  return items.map((i) => ({
    product_id: i.product_id,
    quantity: i.quantity,
    price_cents: toCents(i.price) ?? 0,
  }));
}

/** Order ids of cart orders are integers in the contract; they are stored as their decimal string. */
export function publicOrderId(order: Order): string | number {
  return order.source === "cart" ? Number(order.order_id) : order.order_id;
}

export function orderView(order: Order): OrderView {
  const view: OrderView = {
    order_id: publicOrderId(order),
    customer_id: order.customer_id,
    items: order.items.map((l) => ({
      product_id: l.product_id,
      quantity: l.quantity,
      price: fromCents(l.price_cents),
    })),
    total: fromCents(order.total_cents),
    status: order.status,
    created_at: order.created_at,
    updated_at: order.updated_at,
  };
  if (order.failure_reason !== undefined) view.failure_reason = order.failure_reason;
  if (order.transaction_id !== undefined) view.transaction_id = order.transaction_id;
  return view;
}

/** Same customer and lines (order_id aside) and the same endpoint ⇒ the same request. */
export async function requestHash(source: OrderSource, input: Omit<OrderInput, "order_id">): Promise<string> {
  return sha256(JSON.stringify([source, input.customer_id, input.items]));
}

export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("base64url");
}

/** The only transitions an order makes; every store applies them as conditional writes. */
export const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ["processing"],
  // A processor that crashed leaves its order processing: the redelivered message resumes it.
  processing: ["processing", "completed", "failed"],
  completed: [],
  failed: [],
};

/**
 * The statuses among `from` an order may leave for `to`: what a store's conditional write accepts, so
 * no caller can move an order along a transition the table does not have (a final order stays final).
 */
export function allowedFrom(from: readonly OrderStatus[], to: OrderStatus): OrderStatus[] {
  return from.filter((s) => TRANSITIONS[s].includes(to));
}

export const isFinal = (s: OrderStatus) => s === "completed" || s === "failed";

export interface OrderUpdate {
  status: OrderStatus;
  failure_reason?: string;
  transaction_id?: string;
}

/** The port every order store implements. */
export interface OrderStore {
  get(orderId: string): Promise<Order | undefined>;
  /** Creates the order unless one with this id exists; returns the existing one then. */
  create(order: Order): Promise<{ created: true } | { created: false; existing: Order }>;
  /**
   * Moves the order to `update.status` if its current status is one of `from` and TRANSITIONS allows
   * the move; returns the order after the write, or undefined when the condition failed (the caller
   * re-reads to find out why).
   */
  transition(orderId: string, from: readonly OrderStatus[], update: OrderUpdate): Promise<Order | undefined>;
}

/** The message on the queue: only the id; the order itself is read from the store. */
export interface OrderMessage {
  order_id: string;
}

export function parseOrderMessage(body: string): OrderMessage | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== "object" || value === null) return undefined;
    const id = (value as { order_id?: unknown }).order_id;
    return isOrderId(id) ? { order_id: id } : undefined;
  } catch {
    return undefined;
  }
}
