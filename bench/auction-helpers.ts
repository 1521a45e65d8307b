/** Shared by the auction benchmarks: child processes pinned to cores, wrk output parsing, cleanup. */
import type { Subprocess } from "bun";

export const ROOT = new URL("..", import.meta.url).pathname;
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? "0";
export const LOAD_CORE = process.env.BENCH_LOAD_CORE ?? "1";

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port ?? 0;
  s.stop(true);
  return port;
}

/** Starts `cmd` on SERVER_CORE and waits for `readyUrl` to answer 200. */
export async function startPinned(
  cmd: string[],
  env: Record<string, string>,
  readyUrl: string,
): Promise<Subprocess> {
  const proc = Bun.spawn(["taskset", "-c", SERVER_CORE, ...cmd], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", SHUTDOWN_DRAIN_MS: "0", ...env },
    stdout: "inherit",
    stderr: "inherit",
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(readyUrl)).status === 200) return proc;
    } catch {
      // not up yet
    }
    await Bun.sleep(50);
  }
  proc.kill("SIGKILL");
  throw new Error(`${cmd.join(" ")} did not become ready`);
}

export async function stop(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  await proc.exited;
  clearTimeout(timer);
}

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  requests: number;
}

const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? 1);

export async function wrk(url: string, opts: { connections: number; seconds: number; script?: string }) {
  const args = [
    "taskset",
    "-c",
    LOAD_CORE,
    "wrk",
    "-t2",
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    "--latency",
  ];
  if (opts.script) args.push("-s", opts.script);
  const proc = Bun.spawn([...args, url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    return m ? ms(m[1] as string, m[2] as string) : Number.NaN;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: pct("50"),
    p99: pct("99"),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
  } satisfies WrkResult;
}

export async function dropPrefix(prefix: string): Promise<void> {
  const { createClient } = await import("redis");
  const c = createClient({ url: REDIS_URL });
  await c.connect();
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
    if (keys.length) await c.del(keys);
  await c.close();
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "n/a";
