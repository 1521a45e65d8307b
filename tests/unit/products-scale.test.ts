import { describe, expect, test } from "bun:test";
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { TaskCancelledError } from "cockatiel";
import { ClientOfflineError, ErrorReply, WatchError } from "redis";
import { isAwsTransient } from "../../src/adapters/aws.ts";
import { isAwsEndpoint } from "../../src/adapters/dynamodb/client.ts";
import { configuredTables, TABLES } from "../../src/adapters/dynamodb/tables.ts";
import { isRedisTransient } from "../../src/adapters/redis/client.ts";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { seed } from "../../src/cli/seed.ts";
import { loadConfig } from "../../src/config.ts";
import { Faults, InjectedFault, parseFaults } from "../../src/resilience/faults.ts";

const meta = { $metadata: {} };
const withCode = (code: string) => Object.assign(new Error(code), { code });

describe("isAwsTransient (DynamoDB, SQS and SNS alike)", () => {
  test.each([
    ["throttling", new ProvisionedThroughputExceededException({ message: "slow down", ...meta })],
    ["a 500", new InternalServerError({ message: "boom", ...meta })],
    ["a 503 by status", Object.assign(new Error("x"), { name: "Weird", $metadata: { httpStatusCode: 503 } })],
    ["ThrottlingException by name", Object.assign(new Error("x"), { name: "ThrottlingException" })],
    ["connection refused", withCode("ECONNREFUSED")],
    ["a reset wrapped by the SDK", Object.assign(new Error("x"), { cause: withCode("ECONNRESET") })],
    ["the policy's timeout", new TaskCancelledError()],
    ["an injected fault", new InjectedFault("dynamodb")],
    ["an SDK-marked retryable error", Object.assign(new Error("x"), { name: "Odd", $retryable: {} })],
    [
      "SQS throttling (400)",
      Object.assign(new Error("x"), {
        name: "RequestThrottled",
        $retryable: { throttling: true },
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    ["a socket hang up", new Error("socket hang up")],
  ])("retries %s", (_name, err) => {
    expect(isAwsTransient(err)).toBe(true);
  });

  test.each([
    ["a failed condition", new ConditionalCheckFailedException({ message: "no", ...meta })],
    ["a missing table", new ResourceNotFoundException({ message: "no table", ...meta })],
    [
      "a validation error (400)",
      Object.assign(new Error("bad"), { name: "ValidationException", $metadata: { httpStatusCode: 400 } }),
    ],
    ["a plain bug", new TypeError("undefined is not a function")],
    ["a non-error", "nope"],
  ])("never retries %s", (_name, err) => {
    expect(isAwsTransient(err)).toBe(false);
  });
});

describe("isRedisTransient", () => {
  test("connection-level failures and busy servers are transient, command errors are not", () => {
    expect(isRedisTransient(new ClientOfflineError())).toBe(true);
    expect(isRedisTransient(withCode("ECONNREFUSED"))).toBe(true);
    expect(isRedisTransient(new ErrorReply("LOADING Redis is loading the dataset in memory"))).toBe(true);
    expect(isRedisTransient(new ErrorReply("WRONGTYPE Operation against a key"))).toBe(false);
    expect(isRedisTransient(new WatchError())).toBe(false);
  });
});

describe("isAwsEndpoint (what shop migrate refuses without --force)", () => {
  test.each([
    [undefined, true],
    ["https://dynamodb.eu-west-1.amazonaws.com", true],
    ["https://dynamodb.cn-north-1.amazonaws.com.cn", true],
    ["https://dynamodb.eu-west-1.api.aws", true],
    ["http://127.0.0.1:4567", false],
    ["http://dynamodb-local:8000", false],
    ["http://amazonaws.com.evil.test:8000", false],
  ])("%p → %p", (endpoint, aws) => {
    expect(isAwsEndpoint(endpoint)).toBe(aws);
  });
});

describe("table definitions", () => {
  test("every row names a distinct *_TABLE variable", () => {
    const envs = TABLES.map((t) => t.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(envs.every((e) => e.endsWith("_TABLE"))).toBe(true);
  });

  test("only tables whose variable is set are configured", () => {
    expect(configuredTables(loadConfig({}))).toEqual([]);
    const configured = configuredTables(loadConfig({ PRODUCTS_TABLE: "p" }));
    expect(configured).toEqual([
      { def: { env: "PRODUCTS_TABLE", partitionKey: { name: "product_id", type: "N" } }, name: "p" },
    ]);
  });
});

describe("Faults.format", () => {
  test("round-trips through the FAULTS grammar", () => {
    const text = "dynamodb:error=0.5,redis:error=1,redis:latency=200ms";
    const faults = new Faults(parseFaults(text));
    expect(faults.format()).toBe(text);
    faults.replace(parseFaults("payment:latency=1.5s"));
    expect(faults.format()).toBe("payment:latency=1500ms");
    expect(Object.fromEntries(parseFaults(faults.format()))).toEqual(faults.all());
  });
});

describe("shop migrate / seed arguments", () => {
  test("migrate takes only --force", () => {
    expect(parseArgs(["migrate"])).toEqual({ kind: "migrate", force: false });
    expect(parseArgs(["migrate", "--force"])).toEqual({ kind: "migrate", force: true });
    expect(() => parseArgs(["migrate", "--yes"])).toThrow(UsageError);
  });

  test("seed takes a count per target", () => {
    expect(parseArgs(["seed", "--products", "10000"])).toEqual({ kind: "seed", counts: { products: 10000 } });
    expect(parseArgs(["seed", "--products=5"])).toEqual({ kind: "seed", counts: { products: 5 } });
  });

  test.each([
    [["seed"]],
    [["seed", "--products"]],
    [["seed", "--products", "0"]],
    [["seed", "--products", "1e3"]],
    [["seed", "--widgets", "3"]],
  ])("rejects %p naming the valid flags", (argv) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
  });
});

describe("shop seed output", () => {
  const run = async (tty: boolean) => {
    let text = "";
    await seed({ products: 50 }, { env: { LOG_LEVEL: "silent" } }, { tty, write: (t) => (text += t) });
    return text;
  };

  test("a terminal gets a progress bar that ends full, then the summary", async () => {
    const text = await run(true);
    expect(text).toContain(`\rproducts [${"#".repeat(30)}] 50/50\n`);
    expect(text).toMatch(/seeded 50 products into the in-memory store .* in [\d.]+ s \(\d+ writes\/s\)\n$/);
  });

  test("a pipe gets only the summary line", async () => {
    expect(await run(false)).toMatch(/^seeded 50 products into [^\n]+\n$/);
  });
});
