/**
 * Bearer-token guard for admin endpoints: 401 when the Authorization header is missing or not a Bearer
 * token, 403 when the token is wrong. Compared in constant time so the token cannot be guessed byte by
 * byte from response times.
 */
import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

export function adminAuth(token: string | undefined): MiddlewareHandler<AppEnv> {
  const expected = token === undefined ? undefined : Buffer.from(token);
  return async (c, next) => {
    // Without ADMIN_TOKEN (the local, embedded-defaults setup) guarded routes are open.
    if (expected === undefined) return next();
    const header = c.req.header("authorization");
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined) {
      throw new ApiError(401, "UNAUTHORIZED", "admin routes need an Authorization: Bearer token", undefined, {
        "WWW-Authenticate": 'Bearer realm="shop-admin"',
      });
    }
    const actual = Buffer.from(given);
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw new ApiError(403, "FORBIDDEN", "wrong admin token");
    }
    await next();
  };
}
