import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { parseEvent } from "../../src/lambda/events.ts";
import { isRuntimeApiAddress } from "../../src/lambda/runtime-api.ts";
import { snsEvent, sqsEvent } from "../helpers/lambda.ts";

describe("Lambda events", () => {
  test("an SQS batch becomes records with id, body, receipt handle and receive count", () => {
    const event = parseEvent(
      JSON.stringify(
        sqsEvent([
          { id: "m1", body: '{"order_id":"a"}', receiveCount: 3 },
          { id: "m2", body: "not json" },
        ]),
      ),
    );
    expect(event).toEqual({
      kind: "sqs",
      records: [
        { id: "m1", body: '{"order_id":"a"}', receiptHandle: "handle-m1", receiveCount: 3 },
        { id: "m2", body: "not json", receiptHandle: "handle-m2", receiveCount: 1 },
      ],
    });
  });

  test("an SNS notification becomes a record without a receipt handle", () => {
    expect(parseEvent(JSON.stringify(snsEvent([{ id: "n1", body: '{"order_id":"a"}' }])))).toEqual({
      kind: "sns",
      records: [{ id: "n1", body: '{"order_id":"a"}', receiptHandle: undefined, receiveCount: 1 }],
    });
  });

  test("a record with a message id but a hostile body is a record (a malformed message), not a bad event", () => {
    const raw = sqsEvent([{ id: "m1", body: "" }]);
    const record = raw.Records[0] as Record<string, unknown>;
    record.body = { order_id: "a" };
    record.attributes = { ApproximateReceiveCount: "-4" };
    expect(parseEvent(JSON.stringify(raw))).toEqual({
      kind: "sqs",
      records: [{ id: "m1", body: "", receiptHandle: "handle-m1", receiveCount: 1 }],
    });
  });

  test.each([
    ["not JSON", "{nope", "not JSON"],
    ["no Records", "{}", "no Records"],
    ["empty Records", '{"Records":[]}', "no Records"],
    ["a JSON array", "[1,2]", "no Records"],
    ["an S3 event", '{"Records":[{"eventSource":"aws:s3"}]}', "neither aws:sqs nor aws:sns"],
    [
      "mixed sources",
      JSON.stringify({
        Records: [
          ...sqsEvent([{ id: "m1", body: "{}" }]).Records,
          ...snsEvent([{ id: "n1", body: "{}" }]).Records,
        ],
      }),
      "record 1 is not an aws:sqs record",
    ],
    ["an SQS record without a message id", '{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}', "record 0"],
    ["an SNS record without Sns", '{"Records":[{"EventSource":"aws:sns"}]}', "record 0"],
  ])("%s is refused as a whole", (_, payload, reason) => {
    const event = parseEvent(payload);
    expect(event.kind).toBe("unknown");
    expect(event.kind === "unknown" && event.reason).toContain(reason);
  });

  test("AWS_LAMBDA_RUNTIME_API is host:port", () => {
    expect(isRuntimeApiAddress("127.0.0.1:9001")).toBe(true);
    expect(isRuntimeApiAddress("localhost:9001")).toBe(true);
    expect(isRuntimeApiAddress("[::1]:9001")).toBe(true);
    expect(isRuntimeApiAddress("http://127.0.0.1:9001")).toBe(false);
    expect(isRuntimeApiAddress("127.0.0.1")).toBe(false);
    expect(isRuntimeApiAddress("127.0.0.1:9001/x")).toBe(false);
  });
});

describe("shop lambda on the command line", () => {
  test("runs the processor by default, or the roles given (the runtime refuses any but the processor)", () => {
    expect(parseArgs(["lambda"])).toEqual({ kind: "lambda", roles: ["processor"] });
    expect(parseArgs(["lambda", "--role", "processor"])).toEqual({ kind: "lambda", roles: ["processor"] });
    expect(parseArgs(["lambda", "--role=api"])).toEqual({ kind: "lambda", roles: ["api"] });
  });

  test.each([
    [["lambda", "--handler", "x"], /unknown flag "--handler" for lambda; valid flags: --role/],
    [["lambda", "--role"], /--role needs a value/],
    [["lambda", "--role", "nope"], /unknown role "nope"/],
  ])("%p is a usage error", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
