/**
 * An independent check of the contract: the product and commerce contract suites run with every
 * request going through Stoplight Prism, a validating proxy loaded with api.yaml, in front of shop.
 * What Prism reports must be exactly what the contract leads us to expect — see `explained` below.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { contractPath, loadContract, operations } from "../helpers/contract.ts";
import { type Exchange, type Prism, startPrism, type Violation } from "../helpers/prism.ts";
import { productContract } from "../helpers/product-contract.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";
import { COMMERCE_ENV, commerceSuite } from "./commerce-suite.ts";

const contract = await loadContract();
/** api.yaml's operations as "METHOD /regex/" matchers. */
const contractOps = operations(contract).map(([path, method]) => ({
  op: `${method.toUpperCase()} ${path}`,
  method: method.toUpperCase(),
  re: new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`),
}));
const contractOp = (e: Exchange) => contractOps.find((o) => o.method === e.method && o.re.test(e.path))?.op;

/** Every scope but the admin ones, as a storefront backend would hold. */
const PRISM_KEY = "prism-contract-key-0123456789";
const API_KEYS = JSON.stringify([
  {
    name: "prism",
    key: PRISM_KEY,
    scopes: ["catalog:read", "catalog:write", "carts", "warehouse", "payments", "orders"],
  },
]);

let shop: TestShop;
let prism: Prism;
beforeAll(async () => {
  shop = await startTestShop(["all"], { ...COMMERCE_ENV, AUTH_DISABLED: "false", API_KEYS });
  prism = await startPrism(contractPath(), shop.url, {
    headers: { "x-api-key": PRISM_KEY },
    // The commerce suite checks the stock guard with no token and a wrong one, and sets stock with ADMIN_TOKEN.
    ownCredentials: (method, path) => method === "PUT" && path.startsWith("/warehouse/stock/"),
  });
});
afterAll(async () => {
  await prism?.stop();
  await shop?.stop();
});

const target = async () => ({
  url: shop.url,
  manager: shop.shop.manager,
  stop: async () => {},
  enforced: true,
});
productContract("through Prism", () => shop.url);
commerceSuite("through Prism", target, { flash: 100, inProcess: true });

const isRequest = (v: Violation) => v.location[0] === "request";
const UNDOCUMENTED_STATUS = /^Unable to match the returned status code/;

/**
 * Why a reported violation is expected, or undefined when it is a finding. The contract suites send
 * requests that break api.yaml on purpose (bad ids, bodies, types) and shop must refuse them; shop's
 * own endpoints and extensions are outside api.yaml.
 */
function explained(e: Exchange, v: Violation): string | undefined {
  const op = contractOp(e);
  if (v.message === "Selected route not found") return op ? undefined : "shop's own endpoint";
  const invalidRequest = e.violations.some((r) => isRequest(r) && r.severity === "Error");
  if (isRequest(v)) {
    if (e.status >= 400 && e.status < 500) return "a request api.yaml forbids, refused by shop";
    // shop's one extension to an api.yaml request: checkout may name the card to charge.
    if (op === "POST /shopping-carts/{shoppingCartId}/checkout" && v.code === 415)
      return "checkout's card body";
    return undefined;
  }
  if (UNDOCUMENTED_STATUS.test(v.message)) {
    // api.yaml lists no 400 (or 413/415) for some operations; shop refuses a request api.yaml forbids anyway.
    if (invalidRequest) return "shop's answer to a request api.yaml forbids";
    // Prism reads "1e3", "01" and "+1" as integers; shop takes plain decimal ids only, and says so with a 400.
    if (e.status === 400 && e.error === "INVALID_INPUT" && /\/(?:[^/]*[e+]|0)[^/]*$/.test(e.path)) {
      return "a non-canonical integer id";
    }
    // shop's extension: the same Idempotency-Key with another body is refused.
    if (e.status === 409 && e.idempotencyKey) return "an Idempotency-Key reused with another body";
  }
  return undefined;
}

describe("Prism's verdict on everything the suites sent", () => {
  test("every api.yaml operation went through Prism and was answered 2xx without a violation", () => {
    const clean = new Set(
      prism.exchanges
        .filter((e) => e.status < 300 && e.violations.length === 0)
        .map(contractOp)
        .filter(Boolean),
    );
    expect([...clean].sort()).toEqual(contractOps.map((o) => o.op).sort());
  });

  test("no violation Prism reports is unexplained", () => {
    const findings = prism.exchanges.flatMap((e) =>
      e.violations
        .filter((v) => explained(e, v) === undefined)
        .map(
          (v) => `${e.method} ${e.path} → ${e.status} ${e.error ?? ""}: ${v.location.join(".")} ${v.message}`,
        ),
    );
    expect(findings).toEqual([]);
    // The check has teeth: the suites' deliberate contract breaks were seen as such.
    expect(prism.exchanges.filter((e) => e.violations.some(isRequest)).length).toBeGreaterThan(20);
  });

  test("only malformed JSON bypassed Prism, which cannot carry it", () => {
    expect(prism.bypassed.length).toBeLessThanOrEqual(2);
  });
});
