/**
 * Facts the app owns, as Terraform deploys them: one list of DynamoDB tables (src/adapters/dynamodb/tables.ts)
 * with the partition keys its adapters use, and each role's resources as the app's module graph declares
 * them (`resourcesOf`, src/modules/deps.ts), handed to that role's task and to no other; in lambda mode
 * the processor's Lambda modules' resources, handed to the function. Adding a table or a
 * use on one side only fails here.
 */
import { describe, expect, test } from "bun:test";
import { TABLES as APP_TABLES } from "../../src/adapters/dynamodb/tables.ts";
import { vars } from "../../src/config.ts";
import { LAMBDA_ROOTS, type Resources, resourcesOf } from "../../src/modules/deps.ts";
import { ecsRoles, environments, TABLES } from "../../terraform/config.ts";
import { configured, container, dev, envOf, resource, resources, secretsOf, synth } from "./helpers.ts";

const s = dev();
const lambda = synth(configured({ ...environments.dev, processorMode: "lambda" }));
const tableVars: string[] = APP_TABLES.map((t) => t.env);
const deployed = resources(s.tf, "aws_dynamodb_table").map(([, t]) => t);

describe("DynamoDB tables: the app's list, deployed", () => {
  test("one table per app table, with the app's partition key", () => {
    const fromApp = APP_TABLES.map((t) => ({
      name: `shop-dev-${t.env.replace(/_TABLE$/, "").toLowerCase()}`,
      hash_key: t.partitionKey.name,
      attribute: [{ name: t.partitionKey.name, type: t.partitionKey.type }],
    }));
    const fromTerraform = deployed.map((t) => ({
      name: t.name,
      hash_key: t.hash_key,
      attribute: t.attribute,
    }));
    expect(fromTerraform.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual(
      fromApp.sort((a, b) => a.name.localeCompare(b.name)),
    );
    expect(TABLES).toHaveLength(APP_TABLES.length);
  });

  const given = (e: Record<string, string>, secrets: Record<string, string>) => ({
    tables: Object.keys(e)
      .filter((k) => tableVars.includes(k))
      .sort(),
    redis: "REDIS_URL" in e,
    postgres: "DATABASE_URL" in e,
    publishOrders: "SNS_TOPIC_ARN" in e,
    queue: "SQS_QUEUE_URL" in e,
    adminToken: "ADMIN_TOKEN" in secrets,
  });
  const declared = (uses: Resources) => ({
    tables: [...uses.tables].sort(),
    redis: uses.redis,
    postgres: uses.postgres,
    publishOrders: uses.publishOrders,
    queue: uses.consumeOrders || uses.retryOrders,
    adminToken: uses.adminToken,
  });

  test.each([
    ["ecs", s],
    ["lambda", lambda],
  ] as const)(
    "processorMode %s: each ECS service's task gets exactly what its modules use",
    (mode, synth) => {
      const roles = ecsRoles(
        mode === "ecs" ? environments.dev : { ...environments.dev, processorMode: mode },
      );
      expect(roles.includes("processor")).toBe(mode === "ecs");
      for (const role of roles) {
        const c = container(synth.tf, role);
        for (const v of Object.keys(envOf(c)).filter((k) => tableVars.includes(k))) {
          expect(Object.keys(vars)).toContain(v);
        }
        expect({ role, ...given(envOf(c), secretsOf(c)) }).toEqual({ role, ...declared(resourcesOf(role)) });
      }
    },
  );

  test("processorMode lambda: the function gets exactly what the processor's Lambda modules use", () => {
    const fn = resource(lambda.tf, "aws_lambda_function", "lambda-processor_function").body;
    const e = (fn.environment as { variables: Record<string, string> }).variables;
    expect(given(e, {})).toEqual(declared(resourcesOf(...LAMBDA_ROOTS.processor)));
    for (const v of Object.keys(e)) expect(Object.keys(vars)).toContain(v);
  });

  test("the processor is granted the order tables and never carts", () => {
    expect(resourcesOf("processor").tables.sort()).toEqual([
      "IDEMPOTENCY_TABLE",
      "INVENTORY_TABLE",
      "ORDERS_TABLE",
    ]);
  });
});
