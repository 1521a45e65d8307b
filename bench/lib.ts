/**
 * The plumbing every benchmark shares: processes pinned to the server core, wrk pinned to the load core
 * and its figures parsed, the auction benches' Redis/PostgreSQL, and the printing helpers.
 * Cores: BENCH_SERVER_CORE (default 0) and BENCH_LOAD_CORE (default 1).
 */
import { rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createClient } from "redis";
import { freePort } from "../scripts/free-port.ts";

export { freePort };

export const ROOT = new URL("..", import.meta.url).pathname;
export const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? "0";
export const LOAD_CORE = process.env.BENCH_LOAD_CORE ?? "1";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

export interface PinnedOptions {
  /** The child's stdout; "ignore" keeps the server's log lines out of the figures. */
  stdout?: "ignore" | "inherit";
}

/**
 * Starts `cmd` (relative paths from the repository root) pinned to SERVER_CORE and waits until
 * `readyUrl` answers 200. The child sees only PATH and `env`, so a variable in the caller's shell
 * cannot change what is measured.
 */
export async function startPinned(
  cmd: string[],
  env: Record<string, string>,
  readyUrl: string,
  opts: PinnedOptions = {},
): Promise<Subprocess> {
  const proc = Bun.spawn(["taskset", "-c", SERVER_CORE, ...cmd], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: opts.stdout ?? "ignore",
    stderr: "inherit",
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && proc.exitCode === null) {
    try {
      if ((await fetch(readyUrl)).status === 200) return proc;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  proc.kill("SIGKILL");
  const code = await proc.exited;
  throw new Error(
    Date.now() < deadline
      ? `${cmd.join(" ")} exited with code ${code} before answering 200 on ${readyUrl}`
      : `${cmd.join(" ")} did not answer 200 on ${readyUrl} within ${READY_TIMEOUT_MS / 1000} s`,
  );
}

/** SIGTERM, then SIGKILL if the process has not exited after 10 s. */
export async function stop(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await proc.exited;
  clearTimeout(timer);
}

export interface Shop {
  url: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

/**
 * `bun src/main.ts ARGS` on SERVER_CORE on a free port, with no shutdown drain. Open (AUTH_DISABLED) unless
 * `env` sets credentials: these benches measure the stores and workers behind the edge; bench/auth.ts
 * measures what credentials cost.
 */
export async function startShop(
  args: string[],
  env: Record<string, string>,
  opts: PinnedOptions = {},
): Promise<Shop> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startPinned(
    [process.execPath, "src/main.ts", ...args],
    { PORT: String(port), HOST: "127.0.0.1", SHUTDOWN_DRAIN_MS: "0", AUTH_DISABLED: "true", ...env },
    `${url}/ready`,
    opts,
  );
  return { url, proc, stop: () => stop(proc) };
}

export interface WrkResult {
  rps: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests per second of server CPU time (with `pid`): steadier than req/s on a shared machine. */
  perCpuSecond?: number;
  /** Server instructions per request (with `pid` and perf installed): the steadiest of the three. */
  instructionsPerRequest?: number;
}

export interface WrkOptions {
  connections: number;
  seconds: number;
  /** A .lua file, or the Lua source itself. */
  script?: string;
  threads?: number;
  /** The server's pid: also measure its CPU time and, with perf, its instructions. */
  pid?: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

function parseWrk(out: string): Omit<WrkResult, "perCpuSecond" | "instructionsPerRequest"> {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    return m ? toMs(m[1] ?? "", m[2] ?? "ms") : Number.NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    p50Ms: pct("50"),
    p99Ms: pct("99"),
  };
}

/** Runs wrk pinned to LOAD_CORE against `url`. */
export async function wrk(url: string, opts: WrkOptions): Promise<WrkResult> {
  let scriptPath = opts.script;
  let tempScript: string | undefined;
  // A path is one line ending in .lua; anything else is Lua source, which wrk only takes as a file.
  if (opts.script !== undefined && !/^[^\n]*\.lua$/.test(opts.script)) {
    tempScript = join(tmpdir(), `shop-bench-${process.pid}-${crypto.randomUUID()}.lua`);
    await Bun.write(tempScript, opts.script);
    scriptPath = tempScript;
  }
  try {
    const args = [
      "taskset",
      "-c",
      LOAD_CORE,
      "wrk",
      `-t${opts.threads ?? 1}`,
      `-c${opts.connections}`,
      `-d${opts.seconds}s`,
      "--latency",
    ];
    if (scriptPath) args.push("-s", scriptPath);
    const { pid } = opts;
    if (pid === undefined) return parseWrk(await runWrk([...args, url]));

    const cpuBefore = await cpuSeconds(pid);
    const perfPath = Bun.which("perf");
    const perf = perfPath
      ? Bun.spawn([perfPath, "stat", "-x", ",", "-e", "instructions", "-p", String(pid)], {
          stdout: "ignore",
          stderr: "pipe",
        })
      : undefined;
    const out = await runWrk([...args, url]).catch((err) => {
      perf?.kill("SIGKILL");
      throw err;
    });
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    let instructions: number | undefined;
    if (perf) {
      perf.kill("SIGINT");
      const report = await new Response(perf.stderr).text();
      const count = Number(/^(\d+),[^,]*,instructions/m.exec(report)?.[1]);
      instructions = Number.isFinite(count) && count > 0 ? count : undefined;
    }
    const result = parseWrk(out);
    return {
      ...result,
      perCpuSecond: cpu > 0 ? result.requests / cpu : 0,
      instructionsPerRequest:
        instructions !== undefined && result.requests > 0 ? instructions / result.requests : undefined,
    };
  } finally {
    if (tempScript) await rm(tempScript, { force: true });
  }
}

async function runWrk(cmd: string[]): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  // wrk's own complaint has already gone to stderr.
  if (code !== 0) throw new Error(`wrk exited with code ${code}`);
  return out;
}

/** A wrk script POSTing `body` as JSON on every request. */
export const postJson = (body: unknown) => `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${JSON.stringify(body)}'
`;

/** A number with thousands separators, or "n/a". */
export const num = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "n/a";

/** One run on one line: req/s, req/CPU-s and instructions/request when measured, latency, errors. */
export const formatResult = (r: WrkResult) =>
  `${r.rps.toFixed(0).padStart(8)} req/s  ${
    r.perCpuSecond === undefined
      ? ""
      : `${r.perCpuSecond.toFixed(0).padStart(8)} req/CPU-s (${(1e6 / r.perCpuSecond).toFixed(1)} CPU-µs/req)  `
  }${
    r.instructionsPerRequest === undefined
      ? ""
      : `${(r.instructionsPerRequest / 1000).toFixed(1)}k instr/req  `
  }p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  errors ${r.non2xx + r.socketErrors}`;

/** A labelled table row: req/s, p50, p99, non-2xx. */
export function row(label: string, r: WrkResult): string {
  return `${label.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50Ms.toFixed(2)} ms   p99 ${r.p99Ms.toFixed(2)} ms   non-2xx ${r.non2xx}`;
}

export function header(title: string): void {
  console.log(`\n== ${title}`);
  console.log(
    `   server on core ${SERVER_CORE}, load on core ${LOAD_CORE}; bun ${Bun.version}, ${cpus().length} cores shared with other work`,
  );
}

/** The number after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Deletes every Redis key under `prefix` (what an auction bench created). */
export async function dropPrefix(prefix: string): Promise<void> {
  const c = createClient({ url: REDIS_URL });
  await c.connect();
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
    if (keys.length) await c.del(keys);
  await c.close();
}

// ---------------------------------------------------------------------------------------------------
// Open loop. wrk is closed-loop: a connection sends its next request only once the last one answered,
// so a server that stalls is sent less and its stall is recorded once (coordinated omission). Here
// requests go out on a fixed schedule whatever the answers do, and each latency runs from the request's
// intended send time, so a stall counts against every request that should have been sent during it.

/** When request `i` (from 0) is due, in ms after the schedule's start `t0`. */
export const intendedAt = (t0: number, i: number, rate: number): number => t0 + (i * 1000) / rate;

/** How many requests are due by `now`: those whose intended time is at or before it, at most `total`. */
export function dueBy(t0: number, now: number, rate: number, total: number): number {
  if (now < t0) return 0;
  return Math.min(total, Math.floor(((now - t0) * rate) / 1000) + 1);
}

/** Nearest-rank percentile (0 < p ≤ 100) of ascending `sorted`; unanswered requests sort last as Infinity. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps float error (99.9 / 100 × 1000 = 999.0000000000001) from moving up a rank.
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Summarises latencies (ms; Infinity for a request never answered). */
export function summarise(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;

/**
 * Splits a stream of HTTP/1.1 responses (pipelined, arriving in arbitrary chunks) into statuses.
 * Content-Length framing only: every answer shop and the yardsticks send has one.
 */
export class ResponseStream {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the status of each response completed by them, in order. */
  push(chunk: Uint8Array): number[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const statuses: number[] = [];
    for (;;) {
      const end = buf.indexOf(CRLFCRLF);
      if (end < 0) break;
      const head = buf.toString("latin1", 0, end);
      if (CHUNKED.test(head)) throw new Error("chunked responses are not supported by the open-loop client");
      const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
      const total = end + 4 + length;
      if (buf.length < total) break;
      statuses.push(Number(head.slice(9, 12)));
      buf = buf.subarray(total);
    }
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    return statuses;
  }
}

export interface OpenLoopOptions {
  /** Requests per second, sent on schedule. */
  rate: number;
  seconds: number;
  /** Requests due in the first `warmupSeconds` are sent but not measured. */
  warmupSeconds?: number;
  /** Sockets to spread requests over, one request in flight on each; a due request waits for a free one. */
  connections: number;
  /**
   * Lua-free request templates: the raw HTTP/1.1 request for request `i`, built by the worker from a
   * kind and its parameters (see bench/open-loop-worker.ts), since functions do not cross processes.
   */
  workload: OpenLoopWorkload;
  /** How long to wait for the last answers after the schedule ends before counting them unanswered. */
  drainSeconds?: number;
}

export type OpenLoopWorkload =
  | { kind: "get"; pathPrefix: string; ids: number }
  | { kind: "post"; path: string; body: string }
  | { kind: "post-each"; pathPrefix: string; pathSuffix: string; first: number }
  | { kind: "bid"; path: string };

export interface OpenLoopResult extends LatencySummary {
  rate: number;
  /** Requests measured (sent after the warm-up). */
  measured: number;
  answered: number;
  unanswered: number;
  /** Statuses by class, measured requests only: "2xx", "4xx", "5xx". */
  statuses: Record<string, number>;
  /**
   * How late requests went out, p99 (ms): the generator's own lag plus waiting for a free socket. Near the
   * p99 latency, the server held the sockets; far above 1 ms with low latency, the generator limited.
   */
  sendLagP99Ms: number;
}

/**
 * Runs the open-loop generator pinned to LOAD_CORE against `url` (http://host:port) and returns its
 * figures. The generator is its own process so that it has the load core to itself.
 */
export async function openLoop(url: string, opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const proc = Bun.spawn(
    [
      "taskset",
      "-c",
      LOAD_CORE,
      process.execPath,
      `${ROOT}bench/open-loop-worker.ts`,
      url,
      JSON.stringify(opts),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  if (code !== 0) throw new Error(`open-loop worker exited with code ${code}`);
  return JSON.parse(out, (_k, v) => (v === "Infinity" ? Number.POSITIVE_INFINITY : v)) as OpenLoopResult;
}

/** JSON for a result: an unanswered request's Infinity survives the trip (JSON would make it null). */
export const encodeResult = (r: OpenLoopResult) =>
  JSON.stringify(r, (_k, v) => (v === Number.POSITIVE_INFINITY ? "Infinity" : v));

/** One open-loop run on one line. */
export const formatOpenLoop = (r: OpenLoopResult) =>
  `${num(r.rate).padStart(8)}/s offered  p50 ${num(r.p50Ms, 2)} ms  p99 ${num(r.p99Ms, 2)} ms  p99.9 ${num(r.p999Ms, 2)} ms  max ${num(r.maxMs, 1)} ms  ${
    r.statuses["5xx"] ?? 0
  } 5xx  ${r.unanswered} unanswered  send lag p99 ${num(r.sendLagP99Ms, 2)} ms`;
