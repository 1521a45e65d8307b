/**
 * Real dependencies the tests start and stop themselves: dynalite (DynamoDB) and a private redis-server,
 * each a child process on a free port so a test can kill it for real and start it again on the same port.
 */

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Subprocess } from "bun";
import { createClient } from "redis";
import { freePort, ROOT } from "./shop.ts";

export interface Child {
  port: number;
  url: string;
  /** SIGKILL: no goodbye, like a crash or a pulled cable. */
  kill(): Promise<void>;
  /** Starts it again on the same port (dynalite comes back empty). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open but nothing answers. */
  pause(): void;
  resume(): void;
}

async function waitFor(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await Bun.sleep(25);
  }
  throw new Error(`${what} did not start`);
}

async function startChild(
  command: (port: number) => string[],
  probe: (port: number) => Promise<boolean>,
  what: string,
  url: (port: number) => string,
  prefix: readonly string[],
): Promise<Child> {
  const port = freePort();
  let proc: Subprocess | undefined;
  const start = async () => {
    proc = Bun.spawn([...prefix, ...command(port)], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    await waitFor(() => probe(port), what);
  };
  await start();
  return {
    port,
    url: url(port),
    kill: async () => {
      proc?.kill("SIGKILL");
      await proc?.exited;
    },
    restart: start,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
  };
}

const listening = async (port: number) => {
  const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
  socket.end();
  return true;
};

/** `prefix` wraps the command, e.g. `["taskset", "-c", "1"]` to pin it to a core in a benchmark. */
export function startDynalite(prefix: readonly string[] = []): Promise<Child> {
  return startChild(
    (port) => [
      process.execPath,
      `${ROOT}node_modules/dynalite/cli.js`,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--createTableMs",
      "0",
    ],
    listening,
    "dynalite",
    (port) => `http://127.0.0.1:${port}`,
    prefix,
  );
}

export function startRedisServer(prefix: readonly string[] = []): Promise<Child> {
  return startChild(
    (port) => [
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    async (port) => {
      const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
      client.on("error", () => {});
      try {
        await client.connect();
        return (await client.ping()) === "PONG";
      } finally {
        if (client.isOpen) client.destroy();
      }
    },
    "redis-server",
    (port) => `redis://127.0.0.1:${port}`,
    prefix,
  );
}

/** A client for the test's own setup and checks, pointing at a dynalite. */
export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}

/** A prefix no other run uses, for table names and Redis keys. */
export const runId = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}`;

/** Product ids unique to this process, so suites sharing a store never see each other's products. */
let nextProductId = 10_000_000 + (process.pid % 1000) * 100_000 + Math.floor(Math.random() * 50_000);
export const uniqueProductId = () => nextProductId++;
