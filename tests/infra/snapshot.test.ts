import { expect, test } from "bun:test";
import { dev, prod } from "./helpers.ts";

/**
 * Container definitions, policies and the dashboard are JSON inside strings; parsed here so that a review
 * diff shows the one changed field, not one rewritten line of several kilobytes.
 */
function expandEmbeddedJson(value: unknown): unknown {
  if (typeof value === "string" && /^[[{]/.test(value)) {
    try {
      return { "(json)": expandEmbeddedJson(JSON.parse(value)) };
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) return value.map(expandEmbeddedJson);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEmbeddedJson(v)]));
  }
  return value;
}

// The whole synthesized JSON per environment, so a review sees every resource a change adds, drops or edits.
// Update deliberately with `bun test tests/infra/snapshot.test.ts --update-snapshots`.
test("dev synthesizes to the reviewed Terraform JSON", () => {
  expect(expandEmbeddedJson(dev().tf)).toMatchSnapshot();
});

test("prod synthesizes to the reviewed Terraform JSON", () => {
  expect(expandEmbeddedJson(prod().tf)).toMatchSnapshot();
});
