import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { errorJson } from "./app.ts";
import { ApiError } from "./errors.ts";

/**
 * Guards admin routes with `Authorization: Bearer ADMIN_TOKEN` when a token is configured; open
 * otherwise (the local, embedded-defaults setup). 401 without a bearer token, 403 with a wrong one.
 */
export function adminGuard(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : Buffer.from(token);
  return async (c, next) => {
    if (expected) {
      const header = c.req.header("authorization") ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(header);
      if (!m) {
        c.header("WWW-Authenticate", "Bearer");
        return errorJson(c, new ApiError(401, "UNAUTHORIZED", "admin route: bearer token required"));
      }
      const given = Buffer.from(m[1] ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return errorJson(c, new ApiError(403, "FORBIDDEN", "admin route: wrong token"));
      }
    }
    await next();
  };
}
