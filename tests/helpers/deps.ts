/**
 * Real dependencies the tests start and stop themselves: DynamoDB Local (AWS's own emulator, a JVM) and a
 * private redis-server, each a child process on a free port so a test can kill it for real and start it
 * again on the same port. Every child gets SIGKILL from the kernel when the test process dies
 * (`setpriv --pdeathsig`), so a crashed or interrupted run leaves no JVM behind.
 */

import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Subprocess } from "bun";
import { createClient } from "redis";
import { freePort, ROOT } from "./shop.ts";

export interface Child {
  port: number;
  url: string;
  /** SIGKILL: no goodbye, like a crash or a pulled cable. */
  kill(): Promise<void>;
  /** Starts it again on the same port (both come back empty: they keep nothing on disk). */
  restart(): Promise<void>;
  /**
   * SIGSTOP, resolved once every thread is stopped (a signal is delivered asynchronously; a JVM has dozens
   * of threads): connections stay open but nothing answers until `resume()` (SIGCONT).
   */
  pause(): Promise<void>;
  resume(): void;
  /** The running process's id (a new one after each restart). */
  pid(): number | undefined;
}

interface ChildSpec {
  what: string;
  /** What to check when it does not start. */
  hint: string;
  command: (port: number) => string[];
  probe: (port: number) => Promise<boolean>;
  url: (port: number) => string;
  /** How long a start may take: a JVM needs seconds, more on a loaded machine. */
  startMs: number;
}

async function startChild(spec: ChildSpec, prefix: readonly string[]): Promise<Child> {
  const port = freePort();
  let proc: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  const start = async () => {
    const argv = ["setpriv", "--pdeathsig", "KILL", ...prefix, ...spec.command(port)];
    // In the temp dir: DynamoDB Local leaves a dynamodb-local-metadata.json in its working directory.
    const child = Bun.spawn(argv, { cwd: tmpdir(), stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    proc = child;
    // Drained for as long as the child lives (a full pipe would block it); the tail explains a failed start.
    let stderr = "";
    const drained = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) stderr = (stderr + decoder.decode(chunk)).slice(-4000);
    })();
    const deadline = Date.now() + spec.startMs;
    while (!(await spec.probe(port).catch(() => false))) {
      if (child.exitCode !== null) {
        await drained;
        throw new Error(
          `${spec.what} exited with code ${child.exitCode} before answering (${spec.hint}): ${stderr.trim()}`,
        );
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(
          `${spec.what} did not answer on port ${port} within ${spec.startMs} ms: ${stderr.trim()}`,
        );
      }
      await Bun.sleep(25);
    }
  };
  await start();
  return {
    port,
    url: spec.url(port),
    kill: async () => {
      proc?.kill("SIGKILL");
      await proc?.exited;
    },
    restart: start,
    pause: async () => {
      if (proc) await stopProcess(proc.pid, spec.what);
    },
    resume: () => proc?.kill("SIGCONT"),
    pid: () => proc?.pid,
  };
}

/**
 * SIGSTOP, resolved once every thread of `pid` is stopped (a signal is delivered asynchronously; a JVM
 * has dozens of threads).
 */
export async function stopProcess(pid: number, what = `process ${pid}`): Promise<void> {
  process.kill(pid, "SIGSTOP");
  const deadline = Date.now() + 5000;
  while (!threadStates(pid).every((state) => state === "T")) {
    if (Date.now() > deadline) throw new Error(`${what} did not stop on SIGSTOP`);
    await Bun.sleep(5);
  }
}

/** The state letter (R, S, T, …) of each thread of `pid`, from /proc; a thread that just ended is left out. */
export function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((id) => {
    try {
      return [readFileSync(`/proc/${pid}/task/${id}/stat`, "utf8").split(") ")[1]?.[0] ?? "?"];
    } catch {
      return [];
    }
  });
}

/** DynamoDB Local 1.25, as shipped inside the npm package amplify-dynamodb-simulator (a pinned devDependency). */
export const DYNAMODB_LOCAL_DIR = `${ROOT}node_modules/amplify-dynamodb-simulator/emulator`;

/**
 * The JVM and DynamoDB Local flags. `-inMemory`: nothing on disk, a restart comes back empty. `-sharedDb`:
 * one database whatever credentials and region a client signs with (without it each access key/region pair
 * gets its own, and a process with other fake credentials would see no tables). `-disableTelemetry`: no
 * reports home. C1 only: on a loaded 2-core machine the JVM then answers in ~3 s instead of ~8 s (median of
 * 5 starts each at load 8–10), and tests need correctness, not peak speed. A bounded heap: the data lives
 * in SQLite outside it, and the machine is shared.
 */
export const dynamoDbLocalCommand = (port: number) => [
  "java",
  "-XX:TieredStopAtLevel=1",
  "-Xmx512m",
  `-Djava.library.path=${DYNAMODB_LOCAL_DIR}/DynamoDBLocal_lib`,
  "-jar",
  `${DYNAMODB_LOCAL_DIR}/DynamoDBLocal.jar`,
  "-inMemory",
  "-sharedDb",
  "-disableTelemetry",
  "-port",
  String(port),
];

/**
 * AWS's own DynamoDB Local (transactions, ClientRequestToken idempotency, the service's validation) in a
 * child JVM of its own, for a test that kills, restarts or pauses it. Anything else shares one instance:
 * `sharedDynamoDb()`. `prefix` wraps the command, e.g. `["taskset", "-c", "1"]` to pin it in a benchmark.
 */
export function startDynamoDbLocal(prefix: readonly string[] = []): Promise<Child> {
  return startChild(
    {
      what: "DynamoDB Local",
      hint: "it needs Java 17+ as `java` on PATH: apt-get install openjdk-17-jre-headless, as .ci/run does",
      command: dynamoDbLocalCommand,
      // Any HTTP answer (400 for an unsigned GET) means the server is up and parsing requests.
      probe: async (port) => {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return true;
      },
      url: (port) => `http://127.0.0.1:${port}`,
      startMs: 60_000,
    },
    prefix,
  );
}

let shared: Promise<Child> | undefined;

/**
 * One DynamoDB Local for every test file of this `bun test` process that neither kills nor pauses it (a JVM
 * takes seconds to start; bun test runs all files in one process and shares this module). Tests keep apart
 * by table names (`runId`). It dies with the test process; nothing stops it before.
 */
export function sharedDynamoDb(): Promise<Pick<Child, "url">> {
  shared ??= startDynamoDbLocal();
  return shared;
}

export function startRedisServer(prefix: readonly string[] = []): Promise<Child> {
  return startChild(
    {
      what: "redis-server",
      hint: "apt-get install redis-server, as .ci/run does",
      command: (port) => [
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
      probe: async (port) => {
        const client = createClient({
          url: `redis://127.0.0.1:${port}`,
          socket: { reconnectStrategy: false },
        });
        client.on("error", () => {});
        try {
          await client.connect();
          return (await client.ping()) === "PONG";
        } finally {
          if (client.isOpen) client.destroy();
        }
      },
      url: (port) => `redis://127.0.0.1:${port}`,
      startMs: 10_000,
    },
    prefix,
  );
}

/** A client for the test's own setup and checks, pointing at DynamoDB Local. */
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
