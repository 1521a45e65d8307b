/** Shared plumbing for the benchmarks: pinned processes, wrk runs and their parsed figures. */
import type { Subprocess } from "bun";

import { freePort } from "../scripts/free-port.ts";

export { freePort };

export interface WrkResult {
  rps: number;
  /** Requests per second of server CPU time: steadier than req/s when other work shares the machine. */
  perCpuSecond: number;
  /** Server instructions per request (perf stat), when perf is installed: the steadiest of the three. */
  instructionsPerRequest: number | undefined;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export const SERVER_CPU = process.env.SERVER_CPU ?? "0";
export const LOAD_CPU = process.env.LOAD_CPU ?? "1";

/** Starts `cmd` pinned to the server core and waits until `readyUrl` answers. */
export async function startPinned(
  cmd: string[],
  env: Record<string, string>,
  readyUrl: string,
): Promise<Subprocess> {
  const proc = Bun.spawn(["taskset", "-c", SERVER_CPU, ...cmd], {
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(readyUrl)).ok) return proc;
    } catch {
      // not yet listening
    }
    await Bun.sleep(25);
  }
  proc.kill();
  throw new Error(`${cmd.join(" ")} did not become ready`);
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs wrk pinned to the load core against the server `pid`; `script` is a Lua file choosing the request. */
export async function wrk(
  url: string,
  opts: { connections: number; seconds: number; script?: string; pid: number },
): Promise<WrkResult> {
  const cpuBefore = await cpuSeconds(opts.pid);
  const perfPath = Bun.which("perf");
  const perf = perfPath
    ? Bun.spawn([perfPath, "stat", "-x", ",", "-e", "instructions", "-p", String(opts.pid)], {
        stdout: "ignore",
        stderr: "pipe",
      })
    : undefined;
  const args = [
    "taskset",
    "-c",
    LOAD_CPU,
    "wrk",
    "-t1",
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    "--latency",
  ];
  if (opts.script) args.push("-s", opts.script);
  const out = await Bun.$`${args} ${url}`.quiet().text();
  const cpu = (await cpuSeconds(opts.pid)) - cpuBefore;
  let instructions: number | undefined;
  if (perf) {
    perf.kill("SIGINT");
    const report = await new Response(perf.stderr).text();
    const count = Number(/^(\d+),[^,]*,instructions/m.exec(report)?.[1]);
    instructions = Number.isFinite(count) && count > 0 ? count : undefined;
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const pct = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1] ?? "0", m[2] ?? "ms") : Number.NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return {
    rps,
    perCpuSecond: cpu > 0 ? total / cpu : 0,
    instructionsPerRequest: instructions !== undefined && total > 0 ? instructions / total : undefined,
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    errors: non2xx + socketErrors,
  };
}

export const fmt = (r: WrkResult) =>
  `${r.rps.toFixed(0).padStart(8)} req/s  ${r.perCpuSecond.toFixed(0).padStart(8)} req/CPU-s  ${
    r.instructionsPerRequest === undefined
      ? ""
      : `${(r.instructionsPerRequest / 1000).toFixed(1)}k instr/req  `
  }p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  errors ${r.errors}`;
