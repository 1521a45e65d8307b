import { type Cart, type CartStore, MAX_LINE_QUANTITY } from "../../domain/carts.ts";
import { copy } from "../../util/copy.ts";

export class MemoryCartStore implements CartStore {
  private readonly carts = new Map<number, Cart>();

  async create(cart: Cart): Promise<void> {
    this.carts.set(cart.shopping_cart_id, copy(cart));
  }

  async get(cartId: number): Promise<Cart | undefined> {
    const c = this.carts.get(cartId);
    return c && copy(c);
  }

  async addItem(cartId: number, productId: number, quantity: number) {
    const c = this.carts.get(cartId);
    if (!c) return "not_found" as const;
    if (c.status !== "open") return "not_open" as const;
    const next = (c.items[productId] ?? 0) + quantity;
    if (next > MAX_LINE_QUANTITY) return "too_many" as const;
    c.items[productId] = next;
    return "ok" as const;
  }

  /** The live cart, for MemoryCommerceWrites only: its atomic steps check and change it without an await. */
  live(cartId: number): Cart | undefined {
    return this.carts.get(cartId);
  }
}
