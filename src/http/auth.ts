/**
 * Who sends a request and what it may do: API keys (X-API-Key), JWT bearer tokens (jose, keys from the
 * configured JWKS only) and ADMIN_TOKEN (a key with the admin scope). Design: docs/security.md.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import { Counter, type Registry } from "prom-client";
import type { ApiKeySpec, Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import { ApiError } from "./errors.ts";
import { ADMIN_ONLY_WHEN_OPEN, authEnforced, type Scope } from "./security.ts";

export interface Principal {
  /** The credential's name for logs and metrics: the key's name, "jwt", or "anonymous" when open. */
  credential: string;
  /** A JWT's subject: the user the request acts for. Absent for API keys, which act for any customer. */
  subject?: string;
  /** The rate-limit bucket of this credential; undefined when anonymous. */
  bucket?: string;
}

export interface Authenticator {
  /** The caller if it may use `scope`; throws 401/403 otherwise. Synchronous unless a JWT must be verified. */
  authenticate(req: Request, scope: Scope): Principal | Promise<Principal>;
}

const ANONYMOUS: Principal = { credential: "anonymous" };
const BEARER = /^Bearer[ ]+(\S+)\s*$/i;
const REALM = 'realm="shop"';
/** Only asymmetric signatures: `none` and HS* (an HMAC "signed" with the public key) are refused. */
const ALGORITHMS = ["RS256", "ES256", "EdDSA"];
/** Verified tokens kept at most; a full cache drops its oldest entry. */
const TOKEN_CACHE_MAX = 10_000;
/** jose refetches the JWKS on an unknown kid, but not sooner than this after the last fetch. */
const JWKS_COOLDOWN_MS = 30_000;

interface Key {
  name: string;
  digest: Uint8Array;
  scopes: ReadonlySet<string>;
  /** This key's metric children, bound once: labels() per request was a visible cost. */
  ok: Counter.Internal;
  forbidden: Counter.Internal;
  principal: Principal;
}

interface Verified {
  principal: Principal;
  scopes: ReadonlySet<string>;
  /** ms since epoch after which the cached verdict is void (exp plus the skew allowed). */
  until: number;
}

/** SHA-256, by Bun's one-shot hasher where it exists (half the cost of node:crypto's per request). */
const sha256: (text: string) => Uint8Array =
  typeof Bun === "undefined"
    ? (text) => createHash("sha256").update(text).digest()
    : (text) => Bun.SHA256.hash(text) as Uint8Array;
const sha256Base64: (text: string) => string =
  typeof Bun === "undefined"
    ? (text) => createHash("sha256").update(text).digest("base64")
    : (text) => Bun.SHA256.hash(text, "base64");

function unauthorized(message: string, error?: "invalid_token"): ApiError {
  const bearer = error ? `Bearer ${REALM}, error="${error}"` : `Bearer ${REALM}`;
  return new ApiError(401, "UNAUTHORIZED", message, undefined, {
    "WWW-Authenticate": `${bearer}, ApiKey ${REALM}, header="X-API-Key"`,
  });
}

function forbidden(scope: Scope): ApiError {
  return new ApiError(403, "FORBIDDEN", `this operation needs the ${scope} scope`, `scope: ${scope}`, {
    "WWW-Authenticate": `Bearer ${REALM}, error="insufficient_scope", scope="${scope}"`,
  });
}

const grants = (scopes: ReadonlySet<string>, scope: Scope) => scopes.has(scope) || scopes.has("admin");

export function createAuthenticator(config: Config, registry: Registry): Authenticator {
  const results = new Counter({
    name: "auth_requests_total",
    help: "Authenticated operations by credential (key name, jwt or anonymous) and result",
    labelNames: ["credential", "result"] as const,
    registers: [registry],
  });
  const verifications = new Counter({
    name: "auth_jwt_verifications_total",
    help: "JWT signature verifications (a token seen before is served from the cache and not counted)",
    registers: [registry],
  });
  const key = (name: string, digest: Uint8Array, scopes: Iterable<string>): Key => ({
    name,
    digest,
    scopes: new Set(scopes),
    ok: results.labels(name, "ok"),
    forbidden: results.labels(name, "forbidden"),
    principal: { credential: name, bucket: `key:${name}` },
  });
  const admin =
    config.ADMIN_TOKEN === undefined ? undefined : key("admin", sha256(config.ADMIN_TOKEN), ["admin"]);
  const keys: Key[] = (config.API_KEYS ?? []).map((k: ApiKeySpec) =>
    key(
      k.name,
      k.key_sha256 !== undefined ? Buffer.from(k.key_sha256, "hex") : sha256(k.key ?? ""),
      k.scopes,
    ),
  );
  if (admin) keys.push(admin);
  // Names are what logs and metrics show: one credential each, none mistaken for ADMIN_TOKEN or a token.
  const names = keys.map((k) => k.name);
  const clashes = names.filter((n, i) => names.indexOf(n) !== i || n === "jwt" || n === "anonymous");
  if (clashes.length > 0)
    throw new ConfigError([
      `API_KEYS: names must be unique and not jwt, anonymous or (with ADMIN_TOKEN) admin: ${[...new Set(clashes)].join(", ")}`,
    ]);

  /** Every configured key is compared, each in constant time, so timing tells nothing of which matched. */
  const findKey = (given: string): Key | undefined => {
    const digest = sha256(given);
    let found: Key | undefined;
    for (const key of keys) if (timingSafeEqual(digest, key.digest) && !found) found = key;
    return found;
  };

  const keyPrincipal = (key: Key, scope: Scope): Principal => {
    if (!grants(key.scopes, scope)) {
      key.forbidden.inc();
      throw forbidden(scope);
    }
    key.ok.inc();
    return key.principal;
  };

  if (!authEnforced(config)) {
    // Open: the behaviour before credentials existed, where ADMIN_TOKEN alone guards the admin operations.
    return {
      authenticate: (req, scope) => {
        if (!admin || !ADMIN_ONLY_WHEN_OPEN.has(scope)) return ANONYMOUS;
        const given = req.headers.get("x-api-key") ?? bearerOf(req);
        if (given === undefined) {
          results.labels("anonymous", "unauthorized").inc();
          throw unauthorized("this operation needs ADMIN_TOKEN as X-API-Key or Authorization: Bearer");
        }
        const key = findKey(given);
        if (!key) {
          results.labels("anonymous", "forbidden").inc();
          throw new ApiError(403, "FORBIDDEN", "wrong admin token");
        }
        return keyPrincipal(key, scope);
      },
    };
  }

  const jwt = jwtVerifier(config);
  const tokens = new Map<string, Verified>();

  const jwtOk = results.labels("jwt", "ok");
  const jwtForbidden = results.labels("jwt", "forbidden");
  const fromToken = (verified: Verified, scope: Scope): Principal => {
    if (!grants(verified.scopes, scope)) {
      jwtForbidden.inc();
      throw forbidden(scope);
    }
    jwtOk.inc();
    return verified.principal;
  };

  const verify = async (token: string, cacheKey: string, scope: Scope): Promise<Principal> => {
    if (!jwt) {
      results.labels("jwt", "unauthorized").inc();
      throw unauthorized("bearer token not accepted (no JWT issuer configured)", "invalid_token");
    }
    let payload: JWTPayload;
    verifications.inc();
    try {
      payload = await jwt(token);
    } catch (err) {
      results.labels("jwt", "unauthorized").inc();
      throw unauthorized(`invalid bearer token: ${tokenProblem(err)}`, "invalid_token");
    }
    if (typeof payload.sub !== "string" || payload.sub === "" || typeof payload.exp !== "number") {
      results.labels("jwt", "unauthorized").inc();
      throw unauthorized("invalid bearer token: sub and exp are required", "invalid_token");
    }
    const verified: Verified = {
      principal: { credential: "jwt", subject: payload.sub, bucket: `sub:${payload.sub}` },
      scopes: scopesOf(payload),
      until: payload.exp * 1000 + config.JWT_CLOCK_SKEW_S * 1000,
    };
    if (tokens.size >= TOKEN_CACHE_MAX) {
      const oldest = tokens.keys().next();
      if (!oldest.done) tokens.delete(oldest.value);
    }
    tokens.set(cacheKey, verified);
    return fromToken(verified, scope);
  };

  return {
    authenticate: (req, scope) => {
      const apiKey = req.headers.get("x-api-key");
      if (apiKey !== null) {
        const key = findKey(apiKey);
        if (!key) {
          results.labels("anonymous", "unauthorized").inc();
          throw unauthorized("unknown API key");
        }
        return keyPrincipal(key, scope);
      }
      const token = bearerOf(req);
      if (token === undefined) {
        results.labels("anonymous", "unauthorized").inc();
        throw unauthorized("this operation needs an X-API-Key or an Authorization: Bearer token");
      }
      // ADMIN_TOKEN is accepted as a bearer token too, as it always was.
      if (admin && timingSafeEqual(sha256(token), admin.digest)) return keyPrincipal(admin, scope);
      // A hot client pays one verification: later requests with the same token hit the cache until exp.
      const cacheKey = sha256Base64(token);
      const cached = tokens.get(cacheKey);
      if (cached !== undefined) {
        if (cached.until > Date.now()) return fromToken(cached, scope);
        tokens.delete(cacheKey);
      }
      return verify(token, cacheKey, scope);
    },
  };
}

function bearerOf(req: Request): string | undefined {
  const header = req.headers.get("authorization");
  if (header === null) return undefined;
  // The usual form without running the regex over the whole token (~0.8 µs a request for a JWT).
  if (header.startsWith("Bearer ") && header.length > 7 && header.indexOf(" ", 7) < 0) return header.slice(7);
  return BEARER.exec(header)?.[1];
}

/** `scope` (RFC 8693: space-separated) or `scp` (a list, or a string as some issuers send it). */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return new Set(raw.split(" ").filter(Boolean));
  if (Array.isArray(raw)) return new Set(raw.filter((s): s is string => typeof s === "string"));
  return new Set();
}

/** What was wrong with a token, for the 401's message: never the token itself. */
function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim}: ${err.reason}`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no signing key matches";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (err instanceof joseErrors.JWKSTimeout) return "signing keys unavailable";
  return "malformed";
}

function jwtVerifier(config: Config): ((token: string) => Promise<JWTPayload>) | undefined {
  const { JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS_URL } = config;
  if (JWT_ISSUER === undefined) {
    if (JWT_AUDIENCE !== undefined || JWT_JWKS_URL !== undefined)
      throw new ConfigError(["JWT_AUDIENCE and JWT_JWKS_URL need JWT_ISSUER"]);
    return undefined;
  }
  if (JWT_AUDIENCE === undefined || JWT_JWKS_URL === undefined)
    throw new ConfigError(["JWT_ISSUER needs JWT_AUDIENCE and JWT_JWKS_URL"]);
  // The key set comes from configuration only: jwtVerify is given this function, never a jku/x5u of the token.
  const jwks = createRemoteJWKSet(new URL(JWT_JWKS_URL), {
    cooldownDuration: JWKS_COOLDOWN_MS,
    timeoutDuration: 5000,
  });
  return async (token) =>
    (
      await jwtVerify(token, jwks, {
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        algorithms: ALGORITHMS,
        clockTolerance: config.JWT_CLOCK_SKEW_S,
        requiredClaims: ["exp", "sub"],
      })
    ).payload;
}
