/**
 * What each operation requires, declared with its route definition (`security: requires("carts")`), and
 * the two schemes api.yaml names. The route registrar reads the same `security` field to enforce it, so
 * the OpenAPI document and the check cannot disagree.
 */
import type { RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Config } from "../config.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export const SCOPES = {
  "catalog:read": "Read products",
  "catalog:write": "Create and replace products",
  carts: "Create, read, fill and check out shopping carts",
  warehouse: "Reserve and ship stock, read stock levels",
  "stock:write": "Set stock levels and prices",
  payments: "Charge cards",
  orders: "Place and read orders",
  "auctions:write": "Open auctions",
  bids: "Place bids",
  admin: "Everything, including /admin/*: every scope is implied",
} as const;
export type Scope = keyof typeof SCOPES;

/**
 * The scopes ADMIN_TOKEN alone guarded before credentials existed. Where no credentials are configured
 * (the open mode) these still need ADMIN_TOKEN when it is set, so that mode behaves as it always did.
 */
export const ADMIN_ONLY_WHEN_OPEN: ReadonlySet<Scope> = new Set(["admin", "stock:write", "auctions:write"]);

/** Whether this configuration makes shop check credentials (the rule docs/security.md describes). */
export const authEnforced = (config: Config) =>
  !config.AUTH_DISABLED && (config.API_KEYS !== undefined || config.JWT_ISSUER !== undefined);

export const API_KEY_SCHEME = "ApiKeyAuth";
export const BEARER_SCHEME = "BearerAuth";

export const SECURITY_SCHEMES = {
  [API_KEY_SCHEME]: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A key from API_KEYS (or ADMIN_TOKEN, with the admin scope)",
  },
  [BEARER_SCHEME]: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT from JWT_ISSUER (scopes in scope/scp), or ADMIN_TOKEN",
  },
} as const;

/**
 * Either scheme, granting `scope`. The scope sits in each requirement's list as OpenAPI 3.1 allows for
 * any scheme (3.0 tools ignore it), so a reader of /openapi.json sees what each operation needs.
 */
export const requires = (scope: Scope): Record<string, string[]>[] => [
  { [API_KEY_SCHEME]: [scope] },
  { [BEARER_SCHEME]: [scope] },
];

/** No credentials needed (public auction reads). */
export const PUBLIC: Record<string, string[]>[] = [];

/**
 * The scope a route definition requires: null for a public one. A definition without `security` is a
 * programming error caught at registration: every operation states its requirement.
 */
export function scopeOf(route: RouteConfig): Scope | null {
  const security = route.security;
  if (security === undefined) throw new Error(`${route.method} ${route.path}: no security declared`);
  if (security.length === 0) return null;
  const scopes = new Set(security.flatMap((req) => Object.values(req).flat()));
  const [scope, ...more] = scopes;
  if (scope === undefined || more.length > 0 || !Object.hasOwn(SCOPES, scope)) {
    throw new Error(`${route.method} ${route.path}: security must be requires(scope) or PUBLIC`);
  }
  return scope as Scope;
}

/**
 * The user a request acts for: a JWT's subject, or undefined for an API key or open mode (a trusted
 * backend that may act for anyone).
 */
export const subjectOf = (c: Context<AppEnv>): string | undefined => c.env?.principal?.subject;

/** 403 unless the caller may act for `owner` (a customer or bidder id). */
export function assertActsFor(subject: string | undefined, owner: string | number, what: string): void {
  if (subject !== undefined && subject !== String(owner)) {
    throw new ApiError(403, "FORBIDDEN", `${what} belongs to another user`, `token subject is ${subject}`);
  }
}
