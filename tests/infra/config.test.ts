import { describe, expect, test } from "bun:test";
import {
  APP,
  albIdleTimeoutSeconds,
  backlogPerTask,
  deregistrationDelaySeconds,
  type EnvConfig,
  environments,
  queueVisibilitySeconds,
  settingsFrom,
  stopTimeoutSeconds,
  validate,
  withOverrides,
} from "../../terraform/config.ts";
import { configured } from "./helpers.ts";

const dev = configured(environments.dev);
const withApp = (app: Partial<EnvConfig["app"]>): EnvConfig => ({ ...dev, app: { ...dev.app, ...app } });

describe("shipped environments", () => {
  test.each(Object.values(environments))("$name is valid once the account settings are given", (env) => {
    expect(validate(configured(env))).toEqual([]);
  });

  test("without account settings: no state bucket anywhere, and prod without TLS or alarm address is refused", () => {
    expect(validate(environments.dev)).toEqual([
      "dev: no state bucket: set SHOP_DEV_STATE_BUCKET or SHOP_STATE_BUCKET (bucket names are global)",
    ]);
    expect(validate(environments.prod)).toEqual([
      "prod: no state bucket: set SHOP_PROD_STATE_BUCKET or SHOP_STATE_BUCKET (bucket names are global)",
      "prod: no certificate: set SHOP_PROD_CERTIFICATE_ARN (prod never serves plain HTTP)",
      "prod: no alarm address: set SHOP_PROD_ALARM_EMAIL (the alerts topic has no other subscriber)",
    ]);
  });
});

describe("validate rejects what ECS or the binary would misbehave with", () => {
  test("a shutdown bound ECS cannot honour (stopTimeout max 120 s)", () => {
    expect(validate(withApp({ shutdownTimeoutMs: 116_000 }))).toEqual([
      "dev: stopTimeout 121s exceeds the ECS maximum of 120s",
    ]);
    expect(validate(withApp({ shutdownTimeoutMs: 115_000 }))).toEqual([]);
  });

  test("a drain as long as the whole shutdown", () => {
    expect(validate(withApp({ shutdownDrainMs: 30_000 }))).toEqual([
      "dev: shutdownDrainMs must be below shutdownTimeoutMs",
    ]);
  });

  test("a single AZ, a scaled archiver, bad bounds, one NAT in prod", () => {
    const bad: EnvConfig = {
      ...configured(environments.prod),
      azCount: 1,
      natGateways: "one",
      roles: {
        ...environments.prod.roles,
        archiver: { ...environments.prod.roles.archiver, max: 3 },
        api: { ...environments.prod.roles.api, min: 5, max: 2 },
      },
    };
    expect(validate(bad)).toEqual([
      "prod: azCount must be at least 2 (the ALB needs two subnets)",
      "prod/api: need 1 <= min <= max",
      "prod/archiver: runs a fixed count, min must equal max",
      "prod: one NAT gateway is a single point of failure; use per-az",
    ]);
  });
});

describe("derived timings", () => {
  test("stopTimeout sits above the binary's hard bound; deregistration equals the drain", () => {
    expect(stopTimeoutSeconds(dev)).toBe(35);
    expect(deregistrationDelaySeconds(dev)).toBe(5);
    expect(deregistrationDelaySeconds(withApp({ shutdownDrainMs: 2_500 }))).toBe(3);
  });

  test("ALB idle timeout is above the WebSocket ping; visibility above a payment with retries", () => {
    expect(albIdleTimeoutSeconds()).toBeGreaterThan(APP.wsPingMs / 1000);
    expect(queueVisibilitySeconds(dev)).toBe(60);
  });

  test("backlog per task = what one task clears in the target wait", () => {
    // 50 in flight, 3 s per payment → ~16.7 orders/s per task; 30 s of that is 500 messages.
    expect(backlogPerTask(dev)).toBe(500);
    expect(backlogPerTask({ ...dev, app: { ...dev.app, processorConcurrency: 1 } })).toBe(10);
  });
});

describe("withOverrides: account-specific settings from the shell", () => {
  test("nothing set → the file's values", () => {
    expect(withOverrides(environments.dev, {})).toEqual(environments.dev);
  });

  test("empty values count as unset (GitHub expands a missing variable to an empty string)", () => {
    expect(
      withOverrides(environments.prod, { SHOP_PROD_CERTIFICATE_ARN: "", SHOP_STATE_BUCKET: "" }),
    ).toEqual(environments.prod);
  });

  test("SHOP_VARS (GitHub's vars context as JSON) supplies SHOP_* settings; the shell's own win", () => {
    const settings = settingsFrom({
      SHOP_VARS: JSON.stringify({
        SHOP_STATE_BUCKET: "from-vars",
        SHOP_PROD_ALARM_EMAIL: "ops@example.com",
        OTHER: "x",
        SHOP_X: 1,
      }),
      SHOP_STATE_BUCKET: "from-shell",
      SHOP_PROD_CERTIFICATE_ARN: "",
      PATH: "/bin",
    });
    expect(settings).toEqual({ SHOP_STATE_BUCKET: "from-shell", SHOP_PROD_ALARM_EMAIL: "ops@example.com" });
  });

  test("per-environment variables win over shared ones", () => {
    const env = withOverrides(environments.prod, {
      SHOP_STATE_BUCKET: "shared-bucket",
      SHOP_PROD_STATE_BUCKET: "prod-bucket",
      SHOP_CERTIFICATE_ARN: "arn:aws:acm:us-west-2:1:certificate/x",
      SHOP_ALARM_EMAIL: "ops@example.com",
      SHOP_PROD_STATE_LOCK_TABLE: "tf-locks",
      SHOP_DEV_AWS_REGION: "eu-west-1",
    });
    expect(env.state).toEqual({
      bucket: "prod-bucket",
      region: "us-west-2",
      lock: { kind: "dynamodb", table: "tf-locks" },
    });
    expect(env.certificateArn).toBe("arn:aws:acm:us-west-2:1:certificate/x");
    expect(env.alarms.email).toBe("ops@example.com");
    expect(env.region).toBe("us-west-2");
  });
});
