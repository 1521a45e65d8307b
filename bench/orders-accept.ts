/**
 * POST /orders/async accept rate: into the in-process queue, and through SNS→SQS on fauxqs.
 * Baseline: GET /health on the same server in the same run. Target: ≥ 5000 orders/s, p99 ≤ 10 ms.
 *   bun bench/orders-accept.ts        (BENCH_SECONDS, default 10)
 */
import { startFauxqs } from "fauxqs";
import { header, postJson, row, startShop, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const order = { customer_id: 1, items: [{ product_id: "SKU-001", quantity: 2, price: 19.99 }] };

header("async order accept");
// The processor holds one slow payment, so the queue only fills: this measures accepting.
const memory = await startShop(["--role", "all"], { PAYMENT_SIM_MS: "600000", PROCESSOR_CONCURRENCY: "1" });
const base = await wrk(`${memory.url}/health`, { connections: 64, seconds });
console.log(row("GET /health (baseline)", base));
const mem = await wrk(`${memory.url}/orders/async`, { connections: 64, seconds, script: postJson(order) });
console.log(
  row("POST /orders/async, in-process", mem),
  `  ratio to baseline ${(mem.rps / base.rps).toFixed(2)}`,
);
await memory.stop();

// fauxqs runs in this (load) process: it competes with wrk for the load core.
const fauxqs = await startFauxqs({ port: 0, logger: false });
const q = fauxqs.createQueue("bench-orders");
const { topicArn } = fauxqs.createTopic("bench-orders");
fauxqs.subscribe({
  topic: "bench-orders",
  queue: "bench-orders",
  attributes: { RawMessageDelivery: "true" },
});
const aws = await startShop(["--role", "api"], {
  SNS_TOPIC_ARN: topicArn,
  SQS_QUEUE_URL: q.queueUrl,
  AWS_ENDPOINT_URL_SNS: fauxqs.address,
  AWS_ENDPOINT_URL_SQS: fauxqs.address,
  AWS_REGION: "us-east-1",
});
const sns = await wrk(`${aws.url}/orders/async`, { connections: 64, seconds, script: postJson(order) });
console.log(
  row("POST /orders/async, SNS on fauxqs", sns),
  `  ratio to baseline ${(sns.rps / base.rps).toFixed(2)}`,
);
await aws.stop();
await fauxqs.stop();
