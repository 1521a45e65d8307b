/**
 * Processor efficiency: throughput ÷ (concurrency ÷ payment time) with PAYMENT_SIM_MS=1000, for
 * concurrency 10…2000, and CPU per order. In-process queue; run pinned: taskset -c 0 bun bench/processor.ts
 */
import { startShop } from "../src/shop.ts";

const paymentMs = 1000;
const rounds = 5;
const levels = (process.env.BENCH_LEVELS ?? "10,100,500,1000,2000").split(",").map(Number);
const input = { customer_id: 1, items: [{ product_id: 1, quantity: 1, price: 1 }] };

console.log(
  `\n== processor efficiency (PAYMENT_SIM_MS=${paymentMs}, ${rounds} orders per slot, in-process queue)`,
);
for (const concurrency of levels) {
  const shop = await startShop(["all"], {
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      SHUTDOWN_DRAIN_MS: "0",
      PAYMENT_SIM_MS: String(paymentMs),
      PROCESSOR_CONCURRENCY: String(concurrency),
    },
    write: () => {},
  });
  const orders = shop.manager.get("orders");
  const processor = shop.manager.get("orderProcessor");
  const n = concurrency * rounds;
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < n; i++) await orders.acceptAsync(input);
  const registry = shop.manager.get("metrics").registry;
  for (;;) {
    const m = await registry.getSingleMetric("processor_messages_total")?.get();
    const done = m?.values.find((v) => v.labels.outcome === "completed")?.value ?? 0;
    if (done >= n) break;
    await Bun.sleep(10);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const ideal = concurrency / (paymentMs / 1000);
  const rate = n / seconds;
  console.log(
    `concurrency ${String(concurrency).padStart(5)}: ${rate.toFixed(1).padStart(8)} orders/s, ideal ${ideal.toFixed(0).padStart(5)}, efficiency ${((rate / ideal) * 100).toFixed(1)}%, peak in flight ${processor.peakInFlight()}, CPU ${((used.user + used.system) / n / 1000).toFixed(3)} ms/order (accept included)`,
  );
  await shop.shutdown(0, "bench");
}
