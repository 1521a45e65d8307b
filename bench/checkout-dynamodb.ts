/**
 * Cart checkout and async accept on DynamoDB Local (AWS's emulator, a child JVM), through the api over HTTP:
 * checkouts/s and p99 of two-line carts, and POST /orders/async accepts/s. Run it in this tree and in a
 * copy of an older commit (`git archive <rev> | tar -x -C DIR`, this file copied in) to compare code paths:
 * the transactional checkout is one TransactWriteItems where the saga made ~7 single-item writes, and the
 * accept writes order + outbox record in one transaction and publishes after the answer where the older
 * code wrote, published inline and wrote the message id. Baseline: GET /health in the same run.
 *   bun bench/checkout-dynamodb.ts    (BENCH_SECONDS, default 10; BENCH_CARTS, default 4000)
 */
import { createCommerceTables } from "../tests/helpers/aws.ts";
import { startDynamoDbLocal } from "../tests/helpers/deps.ts";
import { header, postJson, row, startShop, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const carts = Number(process.env.BENCH_CARTS ?? 4000);
const connections = 32;

header("checkout and async accept on DynamoDB Local");
const dynamo = await startDynamoDbLocal();
const tables = await createCommerceTables(dynamo.url);
// The processor holds one slow payment: the queue only fills, so this measures the api's writes.
const shop = await startShop(["--role", "all"], {
  ...tables,
  PAYMENT_SIM_MS: "600000",
  PROCESSOR_CONCURRENCY: "1",
});
const send = async (method: string, path: string, body: unknown) => {
  const res = await fetch(`${shop.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
};
const PRODUCTS = 10;
for (let p = 1; p <= PRODUCTS; p++) {
  await send("POST", `/products/${p}/details`, {
    product_id: p,
    sku: `SKU-${p}`,
    manufacturer: "Acme",
    category_id: 1,
    weight: 100,
    some_other_id: 1,
  });
  await send("PUT", `/warehouse/stock/${p}`, { quantity: 2_000_000_000, price: 9.99 });
}
const prepStart = performance.now();
let made = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (made < carts) {
      const i = made++;
      const { shopping_cart_id: id } = (await send("POST", "/shopping-carts", { customer_id: 1 })) as {
        shopping_cart_id: number;
      };
      await send("POST", `/shopping-carts/${id}/items`, { product_id: (i % PRODUCTS) + 1, quantity: 1 });
      await send("POST", `/shopping-carts/${id}/items`, {
        product_id: ((i + 3) % PRODUCTS) + 1,
        quantity: 1,
      });
    }
  }),
);
console.log(
  `   prepared ${carts} two-line carts in ${((performance.now() - prepStart) / 1000).toFixed(1)} s`,
);

const base = await wrk(`${shop.url}/health`, { connections, seconds });
console.log(row("GET /health (baseline)", base));
const checkout = await wrk(shop.url, {
  connections,
  seconds,
  script: `local id = 0
request = function()
  id = id + 1
  return wrk.format("POST", "/shopping-carts/" .. id .. "/checkout")
end
`,
});
console.log(
  row("POST /shopping-carts/{id}/checkout", checkout),
  `  ratio to baseline ${(checkout.rps / base.rps).toFixed(3)}`,
);
if (checkout.requests > carts)
  console.log(
    `   note: ${checkout.requests - carts} requests ran past the prepared carts; raise BENCH_CARTS`,
  );
const order = { customer_id: 1, items: [{ product_id: "SKU-001", quantity: 2, price: 19.99 }] };
const accept = await wrk(`${shop.url}/orders/async`, { connections, seconds, script: postJson(order) });
console.log(row("POST /orders/async", accept), `  ratio to baseline ${(accept.rps / base.rps).toFixed(3)}`);
await shop.stop();
await dynamo.kill();
