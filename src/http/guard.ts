/**
 * What runs before every operation's handler: the credential check for the route's scope, then the rate
 * limits of that credential and of the client's address. Synchronous when it can be (open, an API key,
 * a cached token, no limits), so the hot path gains no await.
 */
import type { Context } from "hono";
import type { AppEnv } from "./app.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { type Budget, clientAddress, type RateLimiter, tooMany } from "./rate-limit.ts";
import type { Scope } from "./security.ts";

export interface Guard {
  /** undefined when the request may proceed at once; a promise when a check had to wait; throws a refusal. */
  check(c: Context<AppEnv>, scope: Scope | null, budget: Budget): Promise<void> | undefined;
  /** Installed by the rateLimits module; without one (no RATE_LIMIT_* set) nothing is limited. */
  setLimiter(limiter: RateLimiter): void;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => v instanceof Promise;

export function createGuard(auth: Authenticator, trustProxy: boolean): Guard {
  let limiter: RateLimiter | undefined;
  const address = (c: Context<AppEnv>) =>
    clientAddress(c.req.raw, trustProxy, c.env?.peerAddress?.(c.req.raw));

  const limit = (c: Context<AppEnv>, budget: Budget, principal: Principal | undefined) => {
    const r = limiter?.rate(budget);
    if (!limiter || !r) return undefined;
    const keys = [`ip:${address(c)}`];
    if (principal?.bucket) keys.push(principal.bucket);
    const decide = (d: Awaited<ReturnType<RateLimiter["take"]>>) => {
      if (!d.allowed) throw tooMany(budget, r, d);
    };
    const d = limiter.take(budget, keys);
    if (isPromise(d)) return d.then(decide);
    decide(d);
    return undefined;
  };

  /** A refused credential still costs its address a token, so guessing keys is rate-limited too. */
  const refused = (c: Context<AppEnv>, budget: Budget, err: unknown): Promise<void> | never => {
    const charged = limit(c, budget, undefined);
    if (charged === undefined) throw err;
    return charged.then(() => {
      throw err;
    });
  };

  const admit = (c: Context<AppEnv>, budget: Budget, principal: Principal | undefined) => {
    if (c.env && principal) c.env.principal = principal;
    return limit(c, budget, principal);
  };

  return {
    setLimiter: (l) => {
      limiter = l;
    },
    check: (c, scope, budget) => {
      if (scope === null) return admit(c, budget, undefined);
      let principal: Principal | Promise<Principal>;
      try {
        principal = auth.authenticate(c.req.raw, scope);
      } catch (err) {
        return refused(c, budget, err);
      }
      if (!isPromise(principal)) return admit(c, budget, principal);
      return principal.then(
        (p) => admit(c, budget, p),
        (err) => refused(c, budget, err),
      );
    },
  };
}
