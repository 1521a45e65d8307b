import { type Cart, type CartStore, MAX_LINE_QUANTITY, type PaidLine } from "../../domain/carts.ts";
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
    if (c.paid_lines) return "paid" as const;
    const next = (c.items[productId] ?? 0) + quantity;
    if (next > MAX_LINE_QUANTITY) return "too_many" as const;
    c.items[productId] = next;
    return "ok" as const;
  }

  async fixPaidLines(cartId: number, items: Cart["items"], lines: PaidLine[]): Promise<boolean> {
    const c = this.carts.get(cartId);
    if (c?.status !== "open" || c.paid_lines || !sameItems(c.items, items)) return false;
    c.paid_lines = copy(lines);
    return true;
  }

  /** The live cart, for MemoryCommerceWrites only: its atomic steps check and change it without an await. */
  live(cartId: number): Cart | undefined {
    return this.carts.get(cartId);
  }
}

function sameItems(a: Cart["items"], b: Cart["items"]): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
