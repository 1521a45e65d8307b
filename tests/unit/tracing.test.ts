import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { parseEvent } from "../../src/lambda/events.ts";
import { parseResourceAttributes, samplerOf } from "../../src/observability/tracing-sdk.ts";
import { snsEvent, sqsEvent } from "../helpers/lambda.ts";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("tracing configuration", () => {
  test("OTEL_RESOURCE_ATTRIBUTES: k=v pairs, values percent-decoded, blanks skipped", () => {
    expect(parseResourceAttributes("deployment.environment.name=prod,team=shop%20core,,=x")).toEqual({
      "deployment.environment.name": "prod",
      team: "shop core",
    });
    expect(parseResourceAttributes(undefined)).toEqual({});
  });

  test("each OTEL_TRACES_SAMPLER name is the sampler the specification names", () => {
    expect(samplerOf("always_on", 1).toString()).toBe("AlwaysOnSampler");
    expect(samplerOf("always_off", 1).toString()).toBe("AlwaysOffSampler");
    expect(samplerOf("traceidratio", 0.01).toString()).toBe("TraceIdRatioBased{0.01}");
    expect(samplerOf("parentbased_traceidratio", 0.25).toString()).toContain("TraceIdRatioBased{0.25}");
    expect(samplerOf("parentbased_always_on", 1).toString()).toStartWith("ParentBased{root=AlwaysOnSampler");
  });

  test("bad OTEL_* values stop startup like any other variable", () => {
    for (const env of [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://collector" },
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      { OTEL_TRACES_SAMPLER_ARG: "1.5" },
      { OTEL_TRACES_SAMPLER: "sometimes" },
      { OTEL_RESOURCE_ATTRIBUTES: "novalue" },
    ]) {
      expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]);
    }
    expect(loadConfig({ OTEL_TRACES_SAMPLER_ARG: "0.01" }).OTEL_TRACES_SAMPLER_ARG).toBe(0.01);
  });
});

describe("the trace context of Lambda records", () => {
  test("an SQS record's traceparent message attribute (stringValue)", () => {
    const raw = sqsEvent([{ id: "m1", body: "{}" }]);
    (raw.Records[0] as Record<string, unknown>).messageAttributes = {
      traceparent: { stringValue: TRACEPARENT, dataType: "String" },
    };
    const event = parseEvent(JSON.stringify(raw));
    expect(event.kind === "sqs" && event.records[0]?.trace).toEqual({ traceparent: TRACEPARENT });
  });

  test("an SNS record's traceparent message attribute (Value), with its tracestate", () => {
    const raw = snsEvent([{ id: "n1", body: "{}" }]);
    const sns = (raw.Records[0] as { Sns: Record<string, unknown> }).Sns;
    sns.MessageAttributes = {
      traceparent: { Type: "String", Value: TRACEPARENT },
      tracestate: { Type: "String", Value: "shop=1" },
    };
    const event = parseEvent(JSON.stringify(raw));
    expect(event.kind === "sns" && event.records[0]?.trace).toEqual({
      traceparent: TRACEPARENT,
      tracestate: "shop=1",
    });
  });

  test("no attributes, no trace", () => {
    const event = parseEvent(JSON.stringify(sqsEvent([{ id: "m1", body: "{}" }])));
    expect(event.kind === "sqs" && event.records[0]?.trace).toBeUndefined();
  });
});
