/**
 * tracing_enabled (EnvConfig.tracing): off in dev, on in prod at 1 %. On, every task runs the ADOT collector
 * beside shop, shop exports to it over loopback, and only the task role gains X-Ray's write actions.
 */
import { describe, expect, test } from "bun:test";
import { APP, environments, ROLES } from "../../terraform/config.ts";
import { COLLECTOR, COLLECTOR_IMAGE } from "../../terraform/constructs/task.ts";
import { type Container, container, containers, dev, envOf, prod, resources, type Tf } from "./helpers.ts";

const tracesPolicy = (tf: Tf, role: string) =>
  resources(tf, "aws_iam_role_policy").filter(([id]) => id.startsWith(`iam_task-${role}-traces`));

describe("dev: tracing off", () => {
  const s = dev();
  test.each([...ROLES])("%s: shop alone in its task, no OTEL_* variables, no X-Ray grant", (role) => {
    expect(environments.dev.tracing.enabled).toBe(false);
    expect(containers(s.tf, role).map((c) => c.name)).toEqual(["shop"]);
    expect(Object.keys(envOf(container(s.tf, role))).filter((k) => k.startsWith("OTEL_"))).toEqual([]);
    expect(tracesPolicy(s.tf, role)).toEqual([]);
  });
});

describe("prod: an ADOT collector sidecar exporting to X-Ray", () => {
  const s = prod();
  const sidecar = (role: string) =>
    containers(s.tf, role).find((c) => c.name === COLLECTOR) as
      | (Container & { essential: boolean; memoryReservation: number; command: string[] })
      | undefined;

  test.each([...ROLES])("%s: shop exports OTLP/HTTP to the sidecar at 1 %, and starts after it", (role) => {
    const shop = container(s.tf, role) as Container & { dependsOn?: unknown };
    expect(envOf(shop)).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.01",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=prod",
    });
    expect(shop.dependsOn).toEqual([{ containerName: COLLECTOR, condition: "START" }]);
  });

  test.each([...ROLES])(
    "%s: the sidecar is pinned, hardened, not essential, and configured for X-Ray",
    (role) => {
      const c = sidecar(role);
      expect(c).toBeDefined();
      if (!c) return;
      expect(c.image).toBe(COLLECTOR_IMAGE);
      expect(c.image).toMatch(/:v\d+\.\d+\.\d+$/);
      // A collector that dies costs spans, never the task.
      expect(c.essential).toBe(false);
      expect(c.user).toBe(APP.user);
      expect(c.readonlyRootFilesystem).toBe(true);
      expect(c.linuxParameters).toEqual({ capabilities: { drop: ["ALL"] } });
      expect(c.command).toEqual(["--config=env:AOT_CONFIG_CONTENT"]);
      const config = envOf(c).AOT_CONFIG_CONTENT ?? "";
      expect(config).toContain("endpoint: 127.0.0.1:4318");
      expect(config).toContain(`awsxray:\n    region: ${environments.prod.region}`);
      expect(config).toContain("exporters: [awsxray]");
      expect(c.logConfiguration.options["awslogs-stream-prefix"]).toBe(`${role}-otel`);
    },
  );

  test.each([...ROLES])("%s: the task role may write traces to X-Ray, in a policy of its own", (role) => {
    const found = tracesPolicy(s.tf, role);
    expect(found.length).toBe(1);
    const doc = JSON.parse(found[0]?.[1].policy as string) as { Statement: { Action: string[] }[] };
    expect(doc.Statement.flatMap((st) => st.Action).sort()).toEqual([
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]);
  });
});
