import type { Subprocess } from "bun";
import { freePort } from "../../scripts/free-port.ts";
import type { Role } from "../../src/modules/registry.ts";
import { type RunningShop, startShop } from "../../src/shop.ts";

export { freePort };

export interface TestShop {
  url: string;
  shop: RunningShop;
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Test defaults. AUTH_DISABLED: the suites run shop on real infrastructure (which otherwise refuses to
 * start without credentials) and test what they test over open HTTP; the security suites set credentials.
 */
export const TEST_ENV = { SHUTDOWN_DRAIN_MS: "0", AUTH_DISABLED: "true" };

/** Runs shop in this process on a free port; the environment is exactly `env` plus test defaults. */
export async function startTestShop(roles: Role[], env: Record<string, string> = {}): Promise<TestShop> {
  const logs: string[] = [];
  const shop = await startShop(roles, {
    env: { PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...TEST_ENV, ...env },
    write: (text) => logs.push(text),
  });
  return {
    url: `http://127.0.0.1:${shop.port}`,
    shop,
    logs,
    stop: async () => {
      await shop.shutdown(0, "test");
    },
  };
}

export const ROOT = new URL("../..", import.meta.url).pathname;
export const MAIN = `${ROOT}src/main.ts`;

/** `deno run … src/main.ts`: shop's sources under Deno, for spawnShop. */
export function denoCommand(): string[] {
  const deno = Bun.which("deno");
  if (!deno) throw new Error("deno is not on PATH: .ci/run installs it from npm into .tools/");
  return [deno, "run", "-A", "--no-lock", `--config=${ROOT}deno.json`, MAIN];
}

export interface Spawned {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  output(): Promise<string>;
}

/** Runs `cmd` (the binary or `bun src/main.ts`) as a child process and waits until /ready answers 200. */
export async function spawnShop(
  args: string[],
  env: Record<string, string> = {},
  cmd: string[] = [process.execPath, MAIN],
): Promise<Spawned> {
  const port = env.PORT ?? String(freePort());
  const proc = Bun.spawn([...cmd, ...args], {
    env: { PATH: process.env.PATH ?? "", ...TEST_ENV, ...env, PORT: port, HOST: "127.0.0.1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const url = `http://127.0.0.1:${port}`;
  const output = async () =>
    (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`shop exited ${proc.exitCode}: ${await output()}`);
    try {
      const res = await fetch(`${url}/ready`);
      if (res.status === 200) return { proc, url, output };
    } catch {
      // not listening yet
    }
    await Bun.sleep(25);
  }
  proc.kill("SIGKILL");
  throw new Error(`shop did not become ready: ${await output()}`);
}

export async function json(res: Response): Promise<unknown> {
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}
