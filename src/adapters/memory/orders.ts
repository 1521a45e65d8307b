import {
  allowedFrom,
  type Order,
  type OrderStatus,
  type OrderStore,
  type OrderUpdate,
} from "../../domain/orders.ts";
import { copy } from "../../util/copy.ts";

export class MemoryOrderStore implements OrderStore {
  private readonly orders = new Map<string, Order>();

  async get(orderId: string): Promise<Order | undefined> {
    const o = this.orders.get(orderId);
    return o && copy(o);
  }

  async create(order: Order): Promise<{ created: true } | { created: false; existing: Order }> {
    const existing = this.orders.get(order.order_id);
    if (existing) return { created: false, existing: copy(existing) };
    this.orders.set(order.order_id, copy(order));
    return { created: true };
  }

  async transition(
    orderId: string,
    from: readonly OrderStatus[],
    update: OrderUpdate,
  ): Promise<Order | undefined> {
    const o = this.orders.get(orderId);
    if (!o || !allowedFrom(from, update.status).includes(o.status)) return undefined;
    o.status = update.status;
    if (update.failure_reason !== undefined) o.failure_reason = update.failure_reason;
    if (update.transaction_id !== undefined) o.transaction_id = update.transaction_id;
    o.updated_at = new Date().toISOString();
    return copy(o);
  }

  /** The live order, for MemoryCommerceWrites only: its atomic steps check and change it without an await. */
  live(orderId: string): Order | undefined {
    return this.orders.get(orderId);
  }

  /** Stores `order` as is, for MemoryCommerceWrites only (it has checked that the id is free). */
  insert(order: Order): void {
    this.orders.set(order.order_id, copy(order));
  }
}
