/**
 * Shopping carts: opening one, adding lines (the product must exist; lines merge; checkout or a payment
 * ahead closes the cart to changes), and reading it with the prices checkout would charge.
 */
import { type Cart, type CartStore, cartPaid } from "../domain/carts.ts";
import type { IdAllocator } from "../domain/counters.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import type { OrderLine } from "../domain/orders.ts";
import { DomainError, invalidInput, notFound } from "../domain/outcomes.ts";
import type { ProductStore } from "../domain/products.ts";

export type CartLine = OrderLine & { product_id: number };

/** What checkout would order: the lines a payment ahead fixed, or today's at the warehouse's prices. */
export const cartLines = (inventory: InventoryStore, cart: Cart): Promise<CartLine[]> =>
  cart.paid_lines ? Promise.resolve(cart.paid_lines) : priceLines(inventory, cart.items);

/** A cart's lines with unit prices from the warehouse where it knows them (0 otherwise). */
export async function priceLines(inventory: InventoryStore, items: Cart["items"]): Promise<CartLine[]> {
  return Promise.all(
    Object.entries(items).map(async ([pid, quantity]) => {
      const stock = await inventory.get(Number(pid));
      return { product_id: Number(pid), quantity, price_cents: stock?.price_cents ?? 0 };
    }),
  );
}

export const cartNotFound = (cartId: number) => notFound(`shopping cart ${cartId} not found`);

export interface CartDeps {
  carts: CartStore;
  ids: IdAllocator;
  products: ProductStore;
  inventory: InventoryStore;
}

export class CartService {
  constructor(private readonly deps: CartDeps) {}

  async create(customerId: number): Promise<number> {
    const id = await this.deps.ids.next("carts");
    await this.deps.carts.create({
      shopping_cart_id: id,
      customer_id: customerId,
      items: {},
      status: "open",
      created_at: new Date().toISOString(),
    });
    return id;
  }

  async get(cartId: number): Promise<{ cart: Cart; lines: CartLine[] }> {
    const cart = await this.deps.carts.get(cartId);
    if (!cart) throw cartNotFound(cartId);
    return { cart, lines: await cartLines(this.deps.inventory, cart) };
  }

  async addItem(cartId: number, productId: number, quantity: number): Promise<void> {
    if (!(await this.deps.products.get(productId))) throw notFound(`product ${productId} not found`);
    const result = await this.deps.carts.addItem(cartId, productId, quantity);
    if (result === "not_found") throw cartNotFound(cartId);
    // The code checkout answers for the same condition: once checkout began, the cart is closed.
    if (result === "not_open") {
      throw new DomainError("CART_CHECKED_OUT", `shopping cart ${cartId} is already checked out`);
    }
    if (result === "paid") throw cartPaid(cartId);
    if (result === "too_many") throw invalidInput("quantity in cart would exceed 2147483647", "quantity");
  }
}
