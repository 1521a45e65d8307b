/**
 * The processor as a Lambda custom runtime (docs/lambda.md), against the tests' Runtime API emulator:
 *  - cold start: exec of each compiled binary (and of `bun src/main.ts`) to its first `next` call, with
 *    the runtime's own `loaded_ms` (code evaluated) and `startup_ms` (modules initialised), both since exec;
 *  - `/ready` after exec of `--role all` for each binary, as scripts/binary-smoke.ts measures it;
 *  - overhead per message: invocations of redelivered, already-completed orders (each costs the runtime
 *    one DynamoDB read on DynamoDB Local), per invocation and per message, with the runtime's CPU per message;
 *  - the runtime loop alone in this process (a worker that answers at once), for the floor.
 * Binaries are given as arguments (default ./shop) and measured in turns, round by round in a rotating
 * order, so that each sees the same load on this shared machine. The runtime is pinned to
 * BENCH_SERVER_CORE; this script, the emulator and DynamoDB Local run on BENCH_LOAD_CORE:
 *   bun run build && bun run bench:lambda [BINARY...]
 * Figures are printed, never asserted.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Subprocess } from "bun";
import { DynamoOrderStore } from "../src/adapters/dynamodb/orders.ts";
import type { Order } from "../src/domain/orders.ts";
import { LambdaProcessor } from "../src/lambda/processor.ts";
import { RuntimeApi } from "../src/lambda/runtime-api.ts";
import { createLogger } from "../src/observability/log.ts";
import { createCommerceTables } from "../tests/helpers/aws.ts";
import { dynamoClient, startDynamoDbLocal } from "../tests/helpers/deps.ts";
import { failedIds, RuntimeEmulator, sqsEvent } from "../tests/helpers/lambda.ts";
import { freePort, LOAD_CORE, ROOT, SERVER_CORE } from "./lib.ts";

const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20);
const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 300);
const BINARIES = (process.argv.length > 2 ? process.argv.slice(2) : [`${ROOT}shop`]).map((b) => resolve(b));
for (const b of BINARIES) if (!existsSync(b)) throw new Error(`${b} is missing: run \`bun run build\` first`);

const dynamo = await startDynamoDbLocal(["taskset", "-c", LOAD_CORE]);
const env = await createCommerceTables(dynamo.url);

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const ms = (n: number) => `${n.toFixed(1)} ms`;

interface Runtime {
  emulator: RuntimeEmulator;
  proc: Subprocess<"ignore", "pipe", "inherit">;
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
      // info: the "lambda runtime ready" line carries loaded_ms and startup_ms.
      LOG_LEVEL: "info",
      PAYMENT_SIM_MS: "0",
      ...extra,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  return { emulator, proc, startedAt };
}

/** SIGTERM; resolves with what the runtime logged. */
async function stopRuntime(rt: Runtime): Promise<string> {
  rt.proc.kill("SIGTERM");
  const [out] = await Promise.all([new Response(rt.proc.stdout).text(), rt.proc.exited]);
  rt.emulator.stop();
  return out;
}

interface ColdStart {
  next: number;
  loaded: number;
  startup: number;
}

async function coldStart(cmd: string[]): Promise<ColdStart> {
  const rt = spawnRuntime(cmd);
  await rt.emulator.untilNext(1);
  const next = (rt.emulator.nextCalls[0] ?? 0) - rt.startedAt;
  const line = (await stopRuntime(rt)).split("\n").find((l) => l.includes('"lambda runtime ready"'));
  const fields = JSON.parse(line ?? "{}") as { loaded_ms?: number; startup_ms?: number };
  return { next, loaded: fields.loaded_ms ?? Number.NaN, startup: fields.startup_ms ?? Number.NaN };
}

/** exec → first 200 from /ready of `--role all` on embedded defaults, polled every millisecond. */
async function readyAfterExec(binary: string): Promise<number> {
  const port = freePort();
  const started = performance.now();
  const proc = Bun.spawn(["taskset", "-c", SERVER_CORE, binary, "--role", "all"], {
    env: { PATH: "/usr/bin:/bin", PORT: String(port), SHUTDOWN_DRAIN_MS: "0", LOG_LEVEL: "warn" },
    stdout: "ignore",
    stderr: "inherit",
  });
  let readyMs = Number.NaN;
  while (Number.isNaN(readyMs) && performance.now() - started < 20_000) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`);
      if (res.status === 200) readyMs = performance.now() - started;
    } catch {
      await Bun.sleep(1);
    }
  }
  proc.kill("SIGTERM");
  await proc.exited;
  return readyMs;
}

const summary = (values: number[]) => {
  const sorted = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return `min ${ms(sorted[0] ?? 0)}  median ${ms(pct(sorted, 0.5))}  p90 ${ms(pct(sorted, 0.9))}`;
};

/** Each round measures every binary once, starting one further along, so load drifts hit all alike. */
async function inTurns<T>(runs: number, measure: (binary: string) => Promise<T>): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(BINARIES.map((b) => [b, []]));
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < BINARIES.length; i++) {
      const binary = BINARIES[(round + i) % BINARIES.length] ?? "";
      results.get(binary)?.push(await measure(binary));
    }
  }
  return results;
}

const label = (binary: string) => binary.replace(ROOT, "./").padEnd(24);

/** utime + stime of a process in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function seedCompleted(n: number): Promise<string[]> {
  const store = new DynamoOrderStore(
    DynamoDBDocumentClient.from(dynamoClient(dynamo.url)),
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

async function overhead(binary: string, batch: number, ids: string[]) {
  const rt = spawnRuntime([binary], { LOG_LEVEL: "warn" });
  await rt.emulator.untilNext(1);
  const message = (i: number) => {
    const id = ids[i % ids.length] ?? "";
    return { id: `m-${i}`, body: JSON.stringify({ order_id: id }), receiveCount: 2 };
  };
  // Warm-up: connections to DynamoDB Local, JIT.
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
const cold = await inTurns(COLD_RUNS, (b) => coldStart([b]));
for (const [binary, runs] of cold) {
  console.log(`${label(binary)} next    ${summary(runs.map((r) => r.next))}  (${runs.length} runs)`);
  console.log(`${"".padEnd(24)} loaded  ${summary(runs.map((r) => r.loaded))}`);
  console.log(`${"".padEnd(24)} startup ${summary(runs.map((r) => r.startup))}`);
}
const fromSource: number[] = [];
for (let i = 0; i < Math.min(COLD_RUNS, 5); i++) {
  fromSource.push((await coldStart([process.execPath, "src/main.ts"])).next);
}
console.log(`${"bun src/main.ts".padEnd(24)} next    ${summary(fromSource)}  (${fromSource.length} runs)`);

console.log("\n== /ready after exec, --role all on embedded defaults (as scripts/binary-smoke.ts)");
for (const [binary, runs] of await inTurns(COLD_RUNS, readyAfterExec)) {
  console.log(`${label(binary)} ${summary(runs)}  (${runs.length} runs)`);
}

console.log("\n== binary size");
for (const binary of BINARIES) {
  const size = Bun.file(binary).size;
  console.log(`${label(binary)} ${(size / 1e6).toFixed(1)} MB (${(size / 2 ** 20).toFixed(1)} MiB)`);
}

const measured = BINARIES[0] ?? "";
console.log(
  `\n== invocation overhead of ${label(measured).trim()}: redelivered completed orders (one DynamoDB read each, DynamoDB Local)`,
);
const ids = await seedCompleted(200);
await overhead(measured, 1, ids);
await overhead(measured, 10, ids);

console.log("\n== the runtime loop alone (no store)");
await loopFloor(1);
await loopFloor(10);

await dynamo.kill();
