/**
 * The processor as a Lambda custom runtime (docs/lambda.md), against the tests' Runtime API emulator:
 *  - cold start: exec of the compiled ./shop (and of `bun src/main.ts`) to its first `next` call;
 *  - overhead per message: invocations of redelivered, already-completed orders (each costs the runtime
 *    one DynamoDB read on dynalite), per invocation and per message, with the runtime's CPU per message;
 *  - the runtime loop alone in this process (a worker that answers at once), for the floor.
 * The runtime is pinned to BENCH_SERVER_CORE; run this script on the other core:
 *   bun run build && bun run bench:lambda
 * Figures are printed, never asserted.
 */
import { existsSync, readFileSync } from "node:fs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Subprocess } from "bun";
import { DynamoOrderStore } from "../src/adapters/dynamodb/orders.ts";
import type { Order } from "../src/domain/orders.ts";
import { LambdaProcessor } from "../src/lambda/processor.ts";
import { RuntimeApi } from "../src/lambda/runtime-api.ts";
import { createLogger } from "../src/observability/log.ts";
import { createCommerceTables, startDynalite } from "../tests/helpers/aws.ts";
import { dynamoClient } from "../tests/helpers/deps.ts";
import { failedIds, RuntimeEmulator, sqsEvent } from "../tests/helpers/lambda.ts";
import { ROOT, SERVER_CORE } from "./lib.ts";

const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20);
const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 300);
const BINARY = `${ROOT}shop`;
if (!existsSync(BINARY)) throw new Error("./shop is missing: run `bun run build` first");

const dynamo = await startDynalite();
const env = await createCommerceTables(dynamo.endpoint);

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const ms = (n: number) => `${n.toFixed(1)} ms`;

interface Runtime {
  emulator: RuntimeEmulator;
  proc: Subprocess;
  startedAt: number;
}

function spawnRuntime(cmd: string[], extra: Record<string, string> = {}): Runtime {
  const emulator = new RuntimeEmulator();
  const startedAt = performance.timeOrigin + performance.now();
  const proc = Bun.spawn(["taskset", "-c", SERVER_CORE, ...cmd, "lambda", "--role", "processor"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      ...env,
      AWS_LAMBDA_RUNTIME_API: emulator.address,
      LOG_LEVEL: "warn",
      PAYMENT_SIM_MS: "0",
      ...extra,
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  return { emulator, proc, startedAt };
}

async function stopRuntime(rt: Runtime) {
  rt.proc.kill("SIGTERM");
  await rt.proc.exited;
  rt.emulator.stop();
}

async function coldStarts(label: string, cmd: string[], runs: number) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const rt = spawnRuntime(cmd);
    await rt.emulator.untilNext(1);
    times.push((rt.emulator.nextCalls[0] ?? 0) - rt.startedAt);
    await stopRuntime(rt);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(28)} min ${ms(times[0] ?? 0)}  median ${ms(pct(times, 0.5))}  p90 ${ms(pct(times, 0.9))}  max ${ms(times.at(-1) ?? 0)}  (${runs} runs)`,
  );
}

/** utime + stime of a process in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function seedCompleted(n: number): Promise<string[]> {
  const store = new DynamoOrderStore(
    DynamoDBDocumentClient.from(dynamoClient(dynamo.endpoint)),
    env.ORDERS_TABLE ?? "",
  );
  const ids = Array.from({ length: n }, (_, i) => `bench-${i}`);
  const now = new Date().toISOString();
  for (const id of ids) {
    const order: Order = {
      order_id: id,
      customer_id: 1,
      items: [{ product_id: 1, quantity: 1, price_cents: 100 }],
      total_cents: 100,
      status: "completed",
      source: "async",
      request_hash: id,
      transaction_id: `txn_${id}`,
      created_at: now,
      updated_at: now,
    };
    await store.create(order);
  }
  return ids;
}

async function overhead(batch: number, ids: string[]) {
  const rt = spawnRuntime([BINARY]);
  await rt.emulator.untilNext(1);
  const message = (i: number) => {
    const id = ids[i % ids.length] ?? "";
    return { id: `m-${i}`, body: JSON.stringify({ order_id: id }), receiveCount: 2 };
  };
  // Warm-up: connections to dynalite, JIT.
  for (let i = 0; i < 20; i++) {
    await rt.emulator.invoke(sqsEvent(Array.from({ length: batch }, (_, j) => message(i * batch + j)))).reply;
  }
  const times: number[] = [];
  const cpuBefore = cpuMs(rt.proc.pid);
  const started = performance.now();
  for (let i = 0; i < INVOCATIONS; i++) {
    const t = performance.now();
    const reply = await rt.emulator.invoke(
      sqsEvent(Array.from({ length: batch }, (_, j) => message(i * batch + j))),
    ).reply;
    times.push(performance.now() - t);
    if (failedIds(reply).length > 0) throw new Error(`unexpected failures: ${JSON.stringify(reply)}`);
  }
  const wall = performance.now() - started;
  const cpu = cpuMs(rt.proc.pid) - cpuBefore;
  const peakRss = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${rt.proc.pid}/status`, "utf8"))?.[1];
  await stopRuntime(rt);
  times.sort((a, b) => a - b);
  const messages = INVOCATIONS * batch;
  console.log(
    `batch ${String(batch).padStart(2)}: per invocation median ${ms(pct(times, 0.5))}, p99 ${ms(pct(times, 0.99))}; ` +
      `per message ${ms(wall / messages)} wall, ${ms(cpu / messages)} runtime CPU (${messages} messages); ` +
      `peak RSS ${(Number(peakRss) / 1024).toFixed(0)} MB`,
  );
}

/** The loop in this process with a worker that answers at once: the Runtime API round trip and the event work. */
async function loopFloor(batch: number) {
  const emulator = new RuntimeEmulator();
  const api = new RuntimeApi(emulator.address);
  const processor = new LambdaProcessor(
    { process: async () => "duplicate" },
    { concurrency: 100, orderReserveMs: 0, visibilityS: 30 },
    createLogger("warn"),
    undefined,
  );
  const stop = new AbortController().signal;
  const event = sqsEvent(
    Array.from({ length: batch }, (_, i) => ({ id: `m-${i}`, body: '{"order_id":"x"}' })),
  );
  const run = async () => {
    const sent = emulator.invoke(event);
    const invocation = await api.next();
    const result = await processor.handle(invocation, stop);
    if ("response" in result.reply) await api.respond(invocation.requestId, result.reply.response);
    await sent.reply;
  };
  for (let i = 0; i < 200; i++) await run();
  const started = performance.now();
  for (let i = 0; i < INVOCATIONS * 5; i++) await run();
  const perInvocation = (performance.now() - started) / (INVOCATIONS * 5);
  emulator.stop();
  console.log(
    `batch ${String(batch).padStart(2)}: ${ms(perInvocation)} per invocation, ${ms(perInvocation / batch)} per message (emulator, client and handler in one process)`,
  );
}

console.log(
  `\n== Lambda cold start: exec → first GET /runtime/invocation/next (runtime on core ${SERVER_CORE})`,
);
await coldStarts("./shop (compiled)", [BINARY], COLD_RUNS);
await coldStarts("bun src/main.ts", [process.execPath, "src/main.ts"], Math.min(COLD_RUNS, 5));

console.log("\n== invocation overhead: redelivered completed orders (one DynamoDB read each, dynalite)");
const ids = await seedCompleted(200);
await overhead(1, ids);
await overhead(10, ids);

console.log("\n== the runtime loop alone (no store)");
await loopFloor(1);
await loopFloor(10);

await dynamo.stop();
