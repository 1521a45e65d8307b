/**
 * Cart checkout on the memory store with the payment simulated at 0 ms: checkouts/s on one core
 * and p99 at 200 concurrent connections (target p99 ≤ 10 ms). Each request checks out its own
 * pre-filled cart. Baseline: GET /health in the same run.
 *   bun bench/checkout.ts        (BENCH_SECONDS, default 10; BENCH_CARTS, default 80000)
 */
import { header, row, startShop, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const carts = Number(process.env.BENCH_CARTS ?? 80_000);

header("cart checkout (memory, PAYMENT_SIM_MS=0)");
const shop = await startShop(["--role", "all"], { PAYMENT_SIM_MS: "0" });
const send = (method: string, path: string, body: unknown) =>
  fetch(`${shop.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
await send("POST", "/products/1/details", {
  product_id: 1,
  sku: "SKU-1",
  manufacturer: "Acme",
  category_id: 1,
  weight: 100,
  some_other_id: 1,
});
await send("PUT", "/warehouse/stock/1", { quantity: 2_000_000_000, price: 9.99 });
const prepStart = performance.now();
let made = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (made < carts) {
      made++;
      const r = (await (await send("POST", "/shopping-carts", { customer_id: 1 })).json()) as {
        shopping_cart_id: number;
      };
      await send("POST", `/shopping-carts/${r.shopping_cart_id}/items`, { product_id: 1, quantity: 1 });
    }
  }),
);
console.log(`   prepared ${carts} carts in ${((performance.now() - prepStart) / 1000).toFixed(1)} s`);

const base = await wrk(`${shop.url}/health`, { connections: 200, seconds });
console.log(row("GET /health (baseline)", base));
const script = `local id = 0
request = function()
  id = id + 1
  return wrk.format("POST", "/shopping-carts/" .. id .. "/checkout")
end
`;
const r = await wrk(shop.url, { connections: 200, seconds, script });
console.log(
  row("POST /shopping-carts/{id}/checkout", r),
  `  ratio to baseline ${(r.rps / base.rps).toFixed(2)}`,
);
if (r.requests > carts)
  console.log(
    `   note: ${r.requests - carts} requests ran past the prepared carts (404s); raise BENCH_CARTS`,
  );
await shop.stop();
