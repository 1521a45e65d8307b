import { describe, expect, test } from "bun:test";
import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { SamplingDecision } from "@opentelemetry/sdk-trace";
import fc from "fast-check";
import { loadConfig, TRACE_SAMPLERS } from "../../src/config.ts";
import { parseEvent } from "../../src/lambda/events.ts";
import {
  PooledIdGenerator,
  parseResourceAttributes,
  samplerOf,
  upfrontSampler,
} from "../../src/observability/tracing-sdk.ts";
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

describe("the sampling decision taken before the SDK", () => {
  const ids = new PooledIdGenerator();
  const traceId = () => ids.generateTraceId();

  test("parent-based samplers follow the incoming sampled flag, whatever the root sampler", () => {
    for (const name of [
      "parentbased_always_on",
      "parentbased_always_off",
      "parentbased_traceidratio",
    ] as const) {
      for (const arg of [0, 0.01, 1]) {
        const decide = upfrontSampler(name, arg);
        expect(decide(traceId(), true)).toBe(true);
        expect(decide(traceId(), false)).toBe(false);
      }
    }
  });

  test("without a parent, the root sampler decides", () => {
    expect(upfrontSampler("parentbased_always_on", 0)(traceId(), undefined)).toBe(true);
    expect(upfrontSampler("parentbased_always_off", 1)(traceId(), undefined)).toBe(false);
    expect(upfrontSampler("parentbased_traceidratio", 1)(traceId(), undefined)).toBe(true);
    expect(upfrontSampler("parentbased_traceidratio", 0)(traceId(), undefined)).toBe(false);
  });

  test("the samplers that are not parent-based ignore the parent's flag", () => {
    expect(upfrontSampler("always_off", 1)(traceId(), true)).toBe(false);
    expect(upfrontSampler("always_on", 0)(traceId(), false)).toBe(true);
    expect(upfrontSampler("traceidratio", 0)(traceId(), true)).toBe(false);
    expect(upfrontSampler("traceidratio", 1)(traceId(), false)).toBe(true);
  });

  test("the ratio is decided by the trace id, by the same bound as the SDK's sampler", () => {
    // The words XOR to 0x00000000 (sampled at any ratio > 0) and to 0xffffffff (sampled only at 1).
    const low = "00000001000000010000000000000000";
    const high = "ffffffff000000000000000000000000";
    expect(upfrontSampler("traceidratio", 0.01)(low, undefined)).toBe(true);
    expect(upfrontSampler("traceidratio", 0.99)(high, undefined)).toBe(false);
    expect(upfrontSampler("traceidratio", 1)(high, undefined)).toBe(true);
    const names = TRACE_SAMPLERS;
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b.some((x) => x !== 0)),
        (name, arg, bytes) => {
          const id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
          const sdk = samplerOf(name, arg).shouldSample(ROOT_CONTEXT, id, "GET", SpanKind.SERVER, {}, []);
          expect(upfrontSampler(name, arg)(id, undefined)).toBe(
            sdk.decision === SamplingDecision.RECORD_AND_SAMPLED,
          );
        },
      ),
    );
  });

  test("at 1 % about one root in a hundred is sampled", () => {
    const decide = upfrontSampler("parentbased_traceidratio", 0.01);
    let sampled = 0;
    for (let i = 0; i < 100_000; i++) if (decide(traceId(), undefined)) sampled++;
    // 1,000 expected; ±300 is more than 9 standard deviations (≈31).
    expect(sampled).toBeGreaterThan(700);
    expect(sampled).toBeLessThan(1300);
  });

  test("ids are valid W3C ids, distinct across refills of the pool", () => {
    const gen = new PooledIdGenerator();
    const seen = new Set<string>();
    // 4096 random bytes a pool: 1000 ids of each kind take several refills.
    for (let i = 0; i < 1000; i++) {
      const t = gen.generateTraceId();
      const s = gen.generateSpanId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(t).not.toBe("0".repeat(32));
      seen.add(t);
      seen.add(s);
    }
    expect(seen.size).toBe(2000);
  });

  test("a root's trace id drawn before the span is the span's", () => {
    const gen = new PooledIdGenerator();
    gen.next = "0af7651916cd43dd8448eb211c80319c";
    expect(gen.generateTraceId()).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(gen.generateTraceId()).not.toBe("0af7651916cd43dd8448eb211c80319c");
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
