/** Shared bench plumbing: a shop pinned to one core, wrk pinned to another, and wrk's figures parsed. */
import type { Subprocess } from "bun";

export const ROOT = new URL("..", import.meta.url).pathname;
export const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? "0";
export const LOAD_CORE = process.env.BENCH_LOAD_CORE ?? "1";

export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port ?? 0;
  s.stop(true);
  return port;
}

export interface Server {
  url: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

/** `bun src/main.ts ARGS` on SERVER_CORE; stdout goes to /dev/null (logs still formatted, as in production). */
export async function startShop(args: string[], env: Record<string, string>): Promise<Server> {
  const port = freePort();
  const proc = Bun.spawn(["taskset", "-c", SERVER_CORE, process.execPath, `${ROOT}src/main.ts`, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_DRAIN_MS: "0",
      ...env,
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/ready`)).status === 200) break;
    } catch {
      // not up yet
    }
    await Bun.sleep(50);
  }
  return {
    url,
    proc,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

export interface WrkResult {
  rps: number;
  requests: number;
  non2xx: number;
  p50ms: number;
  p99ms: number;
}

function ms(text: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text ?? "");
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

export async function wrk(opts: {
  url: string;
  connections: number;
  seconds: number;
  script?: string;
  threads?: number;
}): Promise<WrkResult> {
  const args = [
    "taskset",
    "-c",
    LOAD_CORE,
    "wrk",
    "--latency",
    `-t${opts.threads ?? 1}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
  ];
  if (opts.script) {
    const path = `/tmp/shop-bench-${process.pid}-${Math.random().toString(36).slice(2)}.lua`;
    await Bun.write(path, opts.script);
    args.push("-s", path);
  }
  args.push(opts.url);
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    p50ms: ms(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99ms: ms(/\s99%\s+(\S+)/.exec(out)?.[1]),
  };
}

export const postJson = (body: unknown) => `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${JSON.stringify(body)}'
`;

export function row(label: string, r: WrkResult): string {
  return `${label.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50ms.toFixed(2)} ms   p99 ${r.p99ms.toFixed(2)} ms   non-2xx ${r.non2xx}`;
}

export function header(title: string): void {
  console.log(`\n== ${title}`);
  console.log(`   server on core ${SERVER_CORE}, load on core ${LOAD_CORE}; ${navigatorInfo()}`);
}

function navigatorInfo(): string {
  return `bun ${Bun.version}, ${require("node:os").cpus().length} cores shared with other work`;
}
