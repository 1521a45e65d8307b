import { expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktn";
import {
  getToHaveDataSourceWithProperties,
  getToHaveResourceWithProperties,
  type TerraformConstructor,
} from "cdktn/lib/testing/matchers";
import {
  type EnvConfig,
  environments,
  TARGET_VERSIONS,
  validate,
  withOverrides,
} from "../../terraform/config.ts";
import { ShopStack } from "../../terraform/stack.ts";

type Props = Record<string, unknown>;

declare module "bun:test" {
  interface Matchers<T> {
    toHaveResource(type: TerraformConstructor): T;
    toHaveResourceWithProperties(type: TerraformConstructor, properties: Props): T;
    toHaveDataSourceWithProperties(type: TerraformConstructor, properties: Props): T;
  }
}

// cdktn ships its matchers framework-neutral; Testing.setupJest() needs a global jest `expect`, bun's is not.
const adapt = (result: { pass: boolean; message: string }) => ({
  pass: result.pass,
  message: () => result.message,
});
expect.extend({
  toHaveResource: (received: unknown, type: TerraformConstructor) =>
    adapt(getToHaveResourceWithProperties()(received as string, type, {})),
  toHaveResourceWithProperties: (received: unknown, type: TerraformConstructor, properties: Props) =>
    adapt(getToHaveResourceWithProperties()(received as string, type, properties)),
  toHaveDataSourceWithProperties: (received: unknown, type: TerraformConstructor, properties: Props) =>
    adapt(getToHaveDataSourceWithProperties()(received as string, type, properties)),
});

/** The synthesized stack, as the string cdktn's matchers take and as parsed JSON for structural checks. */
export interface Synth {
  json: string;
  tf: Tf;
}

export interface Tf {
  terraform: Record<string, unknown>;
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown }>;
  variable: Record<string, Record<string, unknown>>;
  ephemeral: Record<string, Record<string, Record<string, unknown>>>;
}

/** Synthesizes one environment with cdktn's feature validations on (they fail on unsupported targets). */
export function synth(env: EnvConfig): Synth {
  // An App creates its outdir even though in-memory synthesis writes nothing there; Testing.app()'s default
  // temporary directory would be left behind on every run.
  const outdir = mkdtempSync(join(tmpdir(), "shop-infra-test-"));
  try {
    const app = Testing.app({ outdir, context: { targetVersions: TARGET_VERSIONS } });
    const json = Testing.synth(new ShopStack(app, env), true);
    return { json, tf: JSON.parse(json) as Tf };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The account settings a deploy provides (the workflows read them from GitHub variables). */
export const TEST_SETTINGS = {
  SHOP_STATE_BUCKET: "shop-test-state",
  SHOP_PROD_CERTIFICATE_ARN: "arn:aws:acm:us-west-2:123456789012:certificate/test",
  SHOP_PROD_ALARM_EMAIL: "ops@example.com",
};

/** An environment as `infra:synth` would see it with the test settings; throws if it would refuse it. */
export function configured(env: EnvConfig): EnvConfig {
  const out = withOverrides(env, TEST_SETTINGS);
  const problems = validate(out);
  if (problems.length > 0) throw new Error(problems.join("; "));
  return out;
}

export const dev = () => synth(configured(environments.dev));
export const prod = () => synth(configured(environments.prod));

/** Every resource of one type, keyed by its logical id. */
export function resources(tf: Tf, type: string): [string, Record<string, unknown>][] {
  return Object.entries(tf.resource[type] ?? {});
}

/** The single resource of `type` whose logical id starts with `idPrefix`. */
export function resource(
  tf: Tf,
  type: string,
  idPrefix: string,
): { id: string; body: Record<string, unknown> } {
  const found = resources(tf, type).filter(([id]) => id.startsWith(idPrefix));
  if (found.length !== 1) throw new Error(`expected one ${type} ${idPrefix}*, found ${found.length}`);
  const [[id, body]] = found as [[string, Record<string, unknown>]];
  return { id, body };
}

/** A Terraform reference to an attribute of a resource, as it appears in the JSON. */
export const ref = (type: string, id: string, attribute: string) => `\${${type}.${id}.${attribute}}`;

export interface Container {
  name: string;
  image: string;
  command: string[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  healthCheck: { command: string[] };
  stopTimeout: number;
  readonlyRootFilesystem: boolean;
  user: string;
  linuxParameters: unknown;
  ulimits: unknown;
  logConfiguration: { options: Record<string, string> };
}

/** Every container of a role's task: shop's, and the collector sidecar's when tracing is enabled. */
export function containers(tf: Tf, role: string): Container[] {
  const task = resource(tf, "aws_ecs_task_definition", `service-${role}_task`).body;
  return JSON.parse(task.container_definitions as string) as Container[];
}

/** The app's container of a role's task. */
export function container(tf: Tf, role: string): Container {
  const defs = containers(tf, role).filter((c) => c.name === "shop");
  if (defs.length !== 1 || !defs[0]) throw new Error(`expected one shop container in ${role}'s task`);
  return defs[0];
}

export const envOf = (c: Container) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
export const secretsOf = (c: Container) => Object.fromEntries(c.secrets.map((e) => [e.name, e.valueFrom]));

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: unknown;
}

export const actionsOf = (s: PolicyStatement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: PolicyStatement) =>
  s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource];
