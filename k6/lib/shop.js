/**
 * One function per endpoint the suite drives. Each request carries a `name` tag with the route
 * template, so thresholds and summaries are per endpoint rather than per URL.
 */
import { check } from "k6";
import http from "k6/http";
import { ADMIN_TOKEN, API_KEY, BASE_URL } from "./env.js";

/**
 * The credential of every client request, for HTTP and WebSocket alike: the API key when given, else
 * ADMIN_TOKEN (which holds every scope), else none (a deployment that runs open).
 */
export const KEY_HEADERS = /** @type {Record<string, string>} */ (
  API_KEY ? { "X-API-Key": API_KEY } : ADMIN_TOKEN ? { Authorization: `Bearer ${ADMIN_TOKEN}` } : {}
);
/** JSON content type, plus the credential. */
export const JSON_HEADERS = { "Content-Type": "application/json", ...KEY_HEADERS };
const ADMIN_HEADERS = ADMIN_TOKEN
  ? { "Content-Type": "application/json", Authorization: `Bearer ${ADMIN_TOKEN}` }
  : JSON_HEADERS;

/** @param {boolean} admin */
export function headers(admin) {
  return admin ? ADMIN_HEADERS : JSON_HEADERS;
}

/**
 * @param {string} name route template used as the `name` tag
 * @param {number[]} expected statuses that are not failures for this call
 */
function params(name, expected, admin = false) {
  return { headers: headers(admin), tags: { name }, responseCallback: http.expectedStatuses(...expected) };
}

/** The response body as an object, or an empty one when it is not JSON. */
export function body(/** @type {import("k6/http").RefinedResponse<any>} */ res) {
  try {
    const value = res.json();
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? /** @type {Record<string, any>} */ (value)
      : {};
  } catch (_) {
    return {};
  }
}

/** Mirrors `demoProduct` in src/domain/products.ts so seeded products look like the demo catalogue. */
export function product(/** @type {number} */ id) {
  return {
    product_id: id,
    sku: `SKU-${String(id).padStart(8, "0")}`,
    manufacturer: "k6 Load Co",
    category_id: (id % 50) + 1,
    weight: (id * 37) % 5000,
    some_other_id: (id % 1000) + 1,
  };
}

export const health = () => http.get(`${BASE_URL}/health`, params("GET /health", [200]));

export const getProduct = (/** @type {number} */ id) =>
  http.get(`${BASE_URL}/products/${id}`, params("GET /products/{id}", [200, 404]));

export const putProduct = (/** @type {number} */ id) =>
  http.post(
    `${BASE_URL}/products/${id}/details`,
    JSON.stringify(product(id)),
    params("POST /products/{id}/details", [204]),
  );

export const setStock = (/** @type {number} */ productId, /** @type {number} */ quantity) =>
  http.put(
    `${BASE_URL}/warehouse/stock/${productId}`,
    JSON.stringify({ quantity }),
    params("PUT /warehouse/stock/{id}", [204], true),
  );

export const createCart = (/** @type {number} */ customerId) =>
  http.post(
    `${BASE_URL}/shopping-carts`,
    JSON.stringify({ customer_id: customerId }),
    params("POST /shopping-carts", [201]),
  );

export const addItem = (
  /** @type {number} */ cartId,
  /** @type {number} */ productId,
  /** @type {number} */ quantity,
) =>
  http.post(
    `${BASE_URL}/shopping-carts/${cartId}/items`,
    JSON.stringify({ product_id: productId, quantity }),
    params("POST /shopping-carts/{id}/items", [204]),
  );

/** 400 is an expected answer in a flash sale: the stock ran out. */
export const checkout = (/** @type {number} */ cartId) =>
  http.post(
    `${BASE_URL}/shopping-carts/${cartId}/checkout`,
    null,
    params("POST /shopping-carts/{id}/checkout", [200, 400]),
  );

/** @param {string} orderId @param {number} customerId */
export function orderPayload(orderId, customerId) {
  return JSON.stringify({
    order_id: orderId,
    customer_id: customerId,
    items: [{ product_id: 1, quantity: 1, price: 19.99 }],
  });
}

/** A synchronous order waits for the simulated payment plus its place in line: `timeoutMs` bounds both. */
export const orderSync = (
  /** @type {string} */ orderId,
  /** @type {number} */ customerId,
  /** @type {number} */ timeoutMs,
) =>
  http.post(`${BASE_URL}/orders/sync`, orderPayload(orderId, customerId), {
    ...params("POST /orders/sync", [200]),
    timeout: `${timeoutMs}ms`,
  });

export const orderAsync = (/** @type {string} */ orderId, /** @type {number} */ customerId) =>
  http.post(
    `${BASE_URL}/orders/async`,
    orderPayload(orderId, customerId),
    params("POST /orders/async", [202]),
  );

export const getOrder = (/** @type {string | number} */ orderId) =>
  http.get(`${BASE_URL}/orders/${encodeURIComponent(String(orderId))}`, params("GET /orders/{id}", [200]));

/** @param {string} itemId @param {number} startPrice */
export const createItem = (itemId, startPrice) =>
  http.post(
    `${BASE_URL}/api/v1/items`,
    JSON.stringify({
      item_id: itemId,
      name: `k6 lot ${itemId}`,
      start_price: startPrice,
      min_increment: 0.01,
      ends_at: new Date(Date.now() + 6 * 3600_000).toISOString(),
    }),
    params("POST /api/v1/items", [201], true),
  );

export const getItem = (/** @type {string} */ itemId) =>
  http.get(`${BASE_URL}/api/v1/items/${itemId}`, params("GET /api/v1/items/{id}", [200]));

/** 409 BID_TOO_LOW is the expected answer of a lost race under contention. */
export const bid = (
  /** @type {string} */ itemId,
  /** @type {string} */ userId,
  /** @type {number} */ amount,
) =>
  http.post(
    `${BASE_URL}/api/v1/items/${itemId}/bid`,
    JSON.stringify({ user_id: userId, amount }),
    params("POST /api/v1/items/{id}/bid", [201, 409]),
  );

/** Money arrives as a JSON number with at most two decimals; adding in cents keeps it exact. */
export function plusCents(/** @type {number} */ amount, /** @type {number} */ cents) {
  return (Math.round(amount * 100) + cents) / 100;
}

/**
 * `count` new products with `stock` units each, under ids fresh per run (so another run's carts and stock
 * never mix with this run's); throws when the target refuses one.
 * @param {number} count
 * @param {number} stock
 */
export function stockedProducts(count, stock) {
  const base = 1_000_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const productIds = Array.from({ length: count }, (_, i) => base + i);
  for (const id of productIds) {
    if (putProduct(id).status !== 204) throw new Error(`cannot create product ${id}`);
    const res = setStock(id, stock);
    if (res.status !== 204) throw new Error(`cannot set stock of ${id}: ${res.status} ${String(res.body)}`);
  }
  return productIds;
}

/**
 * One customer's purchase: a new cart, one unit of a random product of `productIds`, the checkout. The
 * checkout's response, or undefined when the cart or the line failed (checked, so it shows in the run).
 * @param {number[]} productIds
 */
export function buyOne(productIds) {
  const cart = createCart(1 + (__VU % 1_000_000));
  const cartId = body(cart).shopping_cart_id;
  if (!check(cart, { "cart created": (r) => r.status === 201 && Number.isInteger(cartId) })) return undefined;
  const productId = productIds[Math.floor(Math.random() * productIds.length)] ?? 0;
  if (!check(addItem(cartId, productId, 1), { "item added": (r) => r.status === 204 })) return undefined;
  return checkout(cartId);
}
