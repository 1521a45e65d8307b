/**
 * Cart checkout: an order id is allocated, the cart moves open → checking_out with it (one winner) →
 * order stored pending → every line reserved for that order (all or nothing: a short line releases
 * the ones already taken) → order published → checked_out. Each failure undoes the steps before it in
 * reverse, so a failed checkout leaves the cart open and the stock as it was. A checkout whose process
 * died is resumed by the next request once stale: every step is keyed by the order id, so none repeats.
 * Payment and shipping happen in the order pipeline.
 */
import { type Cart, type CartStore, checkoutIsStale } from "../domain/carts.ts";
import type { IdAllocator } from "../domain/counters.ts";
import type { IdempotencyStore } from "../domain/idempotency.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import { lineTotal, type Order, type OrderStore } from "../domain/orders.ts";
import { DomainError } from "../domain/outcomes.ts";
import type { OrderPublisher } from "../domain/queue.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import { type CartLine, cartLines, cartNotFound } from "./carts.ts";
import { idempotent } from "./idempotency.ts";
import type { OrderService } from "./orders.ts";

interface ShortLine {
  product_id: number;
  requested: number;
  available: number;
}

export interface CheckoutDeps {
  carts: CartStore;
  inventory: InventoryStore;
  orders: OrderStore;
  ids: IdAllocator;
  idempotency: IdempotencyStore;
  pipeline: OrderService;
  logger: Logger;
  /** How long a checkout may hold a cart before the next request takes it over (CHECKOUT_STALE_MS). */
  staleMs: number;
}

const busy = (cartId: number) =>
  new DomainError("CART_CHECKED_OUT", `shopping cart ${cartId} is already being checked out`);

export class CheckoutService {
  constructor(private readonly deps: CheckoutDeps) {}

  /**
   * Checks the cart out once: the same Idempotency-Key and card replay the first outcome (a refusal
   * included); without a key a repeated checkout answers CART_CHECKED_OUT with the order id.
   */
  checkout(cartId: number, card: string | undefined, idempotencyKey?: string): Promise<{ order_id: number }> {
    return idempotent(this.deps.idempotency, `checkout:${cartId}`, idempotencyKey, { card }, () =>
      this.start(cartId, card),
    );
  }

  private async start(cartId: number, card: string | undefined): Promise<{ order_id: number }> {
    const { carts } = this.deps;
    const cart = await carts.get(cartId);
    if (!cart) throw cartNotFound(cartId);
    if (cart.status === "checked_out") {
      throw new DomainError("CART_CHECKED_OUT", `shopping cart ${cartId} is already checked out`, {
        details: `order ${cart.order_id}`,
        data: { order_id: cart.order_id },
      });
    }
    if (cart.status === "checking_out") return this.resume(cart);
    if (Object.keys(cart.items).length === 0)
      throw new DomainError("CART_EMPTY", `shopping cart ${cartId} is empty`);
    const publisher = this.deps.pipeline.publisher();
    const orderId = await this.deps.ids.next("orders");
    if (!(await carts.beginCheckout(cartId, orderId, Date.now()))) throw busy(cartId);
    return this.run(cart, orderId, card, publisher);
  }

  /**
   * A checkout whose process died leaves the cart checking_out with its order id: once it is stale,
   * the next request takes it over and runs the same steps again, each idempotent for that order id.
   */
  private async resume(cart: Cart): Promise<{ order_id: number }> {
    const now = Date.now();
    const orderId = cart.order_id;
    if (orderId === undefined || !checkoutIsStale(cart, now, this.deps.staleMs))
      throw busy(cart.shopping_cart_id);
    const publisher = this.deps.pipeline.publisher();
    if (!(await this.deps.carts.takeOverCheckout(cart.shopping_cart_id, cart.checkout_started_at, now))) {
      throw busy(cart.shopping_cart_id);
    }
    this.deps.logger.warn("resuming a checkout that did not finish", {
      cart_id: cart.shopping_cart_id,
      order_id: orderId,
    });
    return this.run(cart, orderId, undefined, publisher);
  }

  private async run(
    cart: Cart,
    orderId: number,
    card: string | undefined,
    publisher: OrderPublisher,
  ): Promise<{ order_id: number }> {
    const { carts } = this.deps;
    const cartId = cart.shopping_cart_id;
    const undo: (() => Promise<unknown>)[] = [() => carts.setStatus(cartId, "checking_out", "open")];
    try {
      const lines = await cartLines(this.deps.inventory, cart);
      const { order, fresh } = await this.createOrder(orderId, cart, lines, card);
      // A resumed checkout whose order the pipeline already took only has the cart left to finish.
      if (fresh || order.status === "pending") {
        undo.push(() => this.deps.orders.discard(order.order_id, order.request_hash));
        await this.reserveAll(order.order_id, lines, undo);
        await this.deps.pipeline.publish(publisher, order);
      }
      await carts.setStatus(cartId, "checking_out", "checked_out", orderId);
      return { order_id: orderId };
    } catch (err) {
      for (const step of undo.reverse()) {
        await step().catch((e) =>
          this.deps.logger.error("checkout compensation step failed", { cart_id: cartId, ...errorFields(e) }),
        );
      }
      throw err;
    }
  }

  /** The cart's order under `orderId`: created now, or found from an earlier attempt at this checkout. */
  private async createOrder(
    orderId: number,
    cart: Cart,
    lines: CartLine[],
    card: string | undefined,
  ): Promise<{ order: Order; fresh: boolean }> {
    const now = new Date().toISOString();
    const order: Order = {
      order_id: String(orderId),
      customer_id: cart.customer_id,
      items: lines,
      total_cents: lineTotal(lines),
      status: "pending",
      source: "cart",
      request_hash: `cart:${cart.shopping_cart_id}`,
      cart_id: cart.shopping_cart_id,
      created_at: now,
      updated_at: now,
      ...(card === undefined ? {} : { card_number: card }),
    };
    const result = await this.deps.orders.create(order);
    if (result.created) return { order, fresh: true };
    if (result.existing.request_hash === order.request_hash) return { order: result.existing, fresh: false };
    // Clients cannot choose ids of digits alone (ClientOrderIdSchema), so only an order stored before that
    // rule can hold one the counter reaches: a retry allocates the next.
    throw new DomainError("TRY_AGAIN", `order id ${orderId} is taken; retry the checkout`, {
      retryAfterS: 0,
    });
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
      throw new DomainError("INSUFFICIENT_STOCK", "not enough stock for every line; nothing was reserved", {
        details: short
          .map((l) => `product ${l.product_id}: requested ${l.requested}, available ${l.available}`)
          .join("; "),
        data: { lines: short },
      });
    }
  }
}
