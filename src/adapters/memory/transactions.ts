import type { Order } from "../../domain/orders.ts";
import type { OutboxRecord } from "../../domain/outbox.ts";
import {
  type CheckoutOutcome,
  type CheckoutWrite,
  type CommerceWrites,
  type FinalUpdate,
  type ShortLine,
  stockLines,
} from "../../domain/transactions.ts";
import { copy } from "../../util/copy.ts";
import type { MemoryCartStore } from "./carts.ts";
import type { MemoryInventoryStore } from "./inventory.ts";
import type { MemoryOrderStore } from "./orders.ts";
import type { MemoryOutbox } from "./outbox.ts";

export interface MemoryStores {
  orders: MemoryOrderStore;
  inventory?: MemoryInventoryStore;
  carts?: MemoryCartStore;
  outbox?: MemoryOutbox;
}

const missing = (what: string): never => {
  throw new Error(`this process has no in-memory ${what} store for the transaction`);
};

/**
 * The multi-item writes on the memory stores, with DynamoDB's semantics: every condition is checked, then
 * every change is made, with no await in between (one synchronous step, so nothing interleaves); a
 * failed condition changes nothing. The token is DynamoDB's business: in memory no step is ever unknown.
 */
export class MemoryCommerceWrites implements CommerceWrites {
  constructor(private readonly stores: MemoryStores) {}

  async checkout(write: CheckoutWrite): Promise<CheckoutOutcome> {
    const { orders } = this.stores;
    const carts = this.stores.carts ?? missing("cart");
    const inventory = this.stores.inventory ?? missing("inventory");
    const outbox = this.stores.outbox ?? missing("outbox");
    const cart = carts.live(write.cartId);
    if (cart?.status !== "open" || !sameLines(cart.items, write.cartItems)) return { kind: "cart_changed" };
    if (orders.live(write.order.order_id)) return { kind: "order_exists" };
    const short: ShortLine[] = [];
    for (const line of stockLines(write.order)) {
      const available = inventory.live(line.product_id)?.available ?? 0;
      if (available < line.quantity)
        short.push({ product_id: line.product_id, requested: line.quantity, available });
    }
    if (short.length > 0) return { kind: "short", lines: short };
    for (const line of stockLines(write.order)) {
      const stock = inventory.live(line.product_id) ?? missing("stock item");
      stock.available -= line.quantity;
      stock.reserved += line.quantity;
    }
    cart.status = "checked_out";
    cart.order_id = Number(write.order.order_id);
    orders.insert(write.order);
    outbox.insert(write.outbox);
    return { kind: "done" };
  }

  async acceptOrder(order: Order, record: OutboxRecord) {
    const outbox = this.stores.outbox ?? missing("outbox");
    const existing = this.stores.orders.live(order.order_id);
    if (existing) return { created: false as const, existing: copy(existing) };
    this.stores.orders.insert(order);
    outbox.insert(record);
    return { created: true as const };
  }

  async finishOrder(order: Order, update: FinalUpdate): Promise<Order | undefined> {
    const live = this.stores.orders.live(order.order_id);
    if (live?.status !== "processing") return undefined;
    if (live.cart_id !== undefined) {
      const inventory = this.stores.inventory ?? missing("inventory");
      if (live.stock !== "reserved") return undefined;
      for (const line of stockLines(live)) {
        const stock = inventory.live(line.product_id);
        if (!stock || stock.reserved < line.quantity) return undefined;
      }
      for (const line of stockLines(live)) {
        const stock = inventory.live(line.product_id) ?? missing("stock item");
        stock.reserved -= line.quantity;
        if (update.status === "completed") stock.shipped += line.quantity;
        else stock.available += line.quantity;
      }
      live.stock = update.status === "completed" ? "shipped" : "released";
    }
    live.status = update.status;
    if (update.failure_reason !== undefined) live.failure_reason = update.failure_reason;
    if (update.transaction_id !== undefined) live.transaction_id = update.transaction_id;
    live.updated_at = new Date().toISOString();
    return copy(live);
  }
}

function sameLines(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
