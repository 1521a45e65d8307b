/**
 * Cart checkout: open → checking_out (one winner) → order stored pending → every line reserved for
 * that order (all or nothing: a short line releases the ones already taken) → order published →
 * checked_out. Each failure undoes the steps before it in reverse, so a failed checkout leaves the
 * cart open and the stock as it was. Payment and shipping happen in the order pipeline.
 */
import type { CartStore } from "../domain/carts.ts";
import type { IdAllocator } from "../domain/counters.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import { lineTotal, type Order, type OrderLine, type OrderStore } from "../domain/orders.ts";
import { ApiError, notFound } from "../http/errors.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import type { OrderService } from "./orders.ts";

export interface ShortLine {
  product_id: number;
  requested: number;
  available: number;
}

type CartLine = OrderLine & { product_id: number };

export interface CheckoutDeps {
  carts: CartStore;
  inventory: InventoryStore;
  orders: OrderStore;
  ids: IdAllocator;
  pipeline: OrderService;
  logger: Logger;
}

const invalidState = (code: string, message: string, details?: unknown) =>
  new ApiError(400, code, message, details);

export class CheckoutService {
  constructor(private readonly deps: CheckoutDeps) {}

  /** Lines of a cart, with unit prices from the warehouse where it knows them (0 otherwise). */
  async lines(items: Record<string, number>): Promise<CartLine[]> {
    return Promise.all(
      Object.entries(items).map(async ([pid, quantity]) => {
        const stock = await this.deps.inventory.get(Number(pid));
        return { product_id: Number(pid), quantity, price_cents: stock?.price_cents ?? 0 };
      }),
    );
  }

  async checkout(cartId: number, card: string | undefined): Promise<{ order_id: number }> {
    const { carts } = this.deps;
    const cart = await carts.get(cartId);
    if (!cart) throw notFound(`shopping cart ${cartId} not found`);
    if (cart.status !== "open") {
      throw invalidState("CART_CHECKED_OUT", `shopping cart ${cartId} is already checked out`, {
        order_id: cart.order_id,
      });
    }
    if (Object.keys(cart.items).length === 0)
      throw invalidState("CART_EMPTY", `shopping cart ${cartId} is empty`);
    const publisher = this.deps.pipeline.publisher();
    if (!(await carts.setStatus(cartId, "open", "checking_out"))) {
      throw invalidState("CART_CHECKED_OUT", `shopping cart ${cartId} is already being checked out`);
    }
    const undo: (() => Promise<unknown>)[] = [() => carts.setStatus(cartId, "checking_out", "open")];
    try {
      const lines = await this.lines(cart.items);
      const order = await this.createOrder(cartId, cart.customer_id, lines, card);
      undo.push(() => this.deps.orders.discard(order.order_id, order.request_hash));
      await this.reserveAll(order.order_id, lines, undo);
      await this.deps.pipeline.publish(publisher, order);
      await carts.setStatus(cartId, "checking_out", "checked_out", Number(order.order_id));
      return { order_id: Number(order.order_id) };
    } catch (err) {
      for (const step of undo.reverse()) {
        await step().catch((e) =>
          this.deps.logger.error("checkout compensation step failed", { cart_id: cartId, ...errorFields(e) }),
        );
      }
      throw err;
    }
  }

  private async createOrder(cartId: number, customerId: number, lines: CartLine[], card: string | undefined) {
    const now = new Date().toISOString();
    // Clients of /orders may pick numeric order_ids too: skip any id already taken.
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = await this.deps.ids.next("orders");
      const order: Order = {
        order_id: String(id),
        customer_id: customerId,
        items: lines,
        total_cents: lineTotal(lines),
        status: "pending",
        source: "cart",
        request_hash: `cart:${cartId}`,
        cart_id: cartId,
        created_at: now,
        updated_at: now,
        ...(card === undefined ? {} : { card_number: card }),
      };
      if ((await this.deps.orders.create(order)).created) return order;
    }
    throw new Error("could not allocate an unused order id in 5 attempts");
  }

  private async reserveAll(
    orderId: string,
    lines: CartLine[],
    undo: (() => Promise<unknown>)[],
  ): Promise<void> {
    const { inventory } = this.deps;
    for (const [index, line] of lines.entries()) {
      const result = await inventory.reserveFor(orderId, line.product_id, line.quantity);
      if (result === "ok" || result === "already") {
        undo.push(() => inventory.releaseFor(orderId, line.product_id, line.quantity));
        continue;
      }
      // Lines before this one were reserved; of the rest, report every one that is short too.
      const short: ShortLine[] = [];
      for (const l of lines.slice(index)) {
        const stock = await inventory.get(l.product_id);
        const available = stock?.available ?? 0;
        if (l === line || available < l.quantity) {
          short.push({ product_id: l.product_id, requested: l.quantity, available });
        }
      }
      throw invalidState(
        "INSUFFICIENT_STOCK",
        "not enough stock for every line; nothing was reserved",
        short,
      );
    }
  }
}
