import { describe, expect, test } from "bun:test";
import { DomainError, OUTCOME_CODES } from "../../src/domain/outcomes.ts";
import { ApiError, fromDomain, OUTCOME_HTTP, toApiError } from "../../src/http/errors.ts";

describe("domain outcome → HTTP answer (the one table)", () => {
  test.each([
    ["INVALID_INPUT", 400, "INVALID_INPUT"],
    ["CART_EMPTY", 400, "CART_EMPTY"],
    ["CART_CHECKED_OUT", 400, "CART_CHECKED_OUT"],
    ["CART_PAID", 400, "CART_PAID"],
    ["INSUFFICIENT_STOCK", 400, "INSUFFICIENT_STOCK"],
    ["PAYMENT_DECLINED", 402, "PAYMENT_DECLINED"],
    ["ORDER_FAILED", 400, "ORDER_FAILED"],
    ["NOT_FOUND", 404, "NOT_FOUND"],
    ["CONFLICT", 409, "CONFLICT"],
    ["BID_TOO_LOW", 409, "BID_TOO_LOW"],
    ["AUCTION_CLOSED", 409, "AUCTION_CLOSED"],
    ["TRY_AGAIN", 503, "TRY_AGAIN"],
    ["DEPENDENCY_UNAVAILABLE", 503, "SERVICE_UNAVAILABLE"],
  ] as const)("%s → %d %s", (code, status, wire) => {
    const answer = fromDomain(new DomainError(code, "m"));
    expect(answer.status).toBe(status);
    expect(answer.body()).toEqual({ error: wire, message: "m" });
  });

  test("every code has a row", () => {
    expect(Object.keys(OUTCOME_HTTP).sort()).toEqual([...OUTCOME_CODES].sort());
  });

  test("Retry-After only on the codes that mean 'not now', and only when the outcome says when", () => {
    expect(fromDomain(new DomainError("TRY_AGAIN", "m", { retryAfterS: 0 })).headers).toEqual({
      "Retry-After": "0",
    });
    expect(fromDomain(new DomainError("DEPENDENCY_UNAVAILABLE", "m", { retryAfterS: 2 })).headers).toEqual({
      "Retry-After": "2",
    });
    expect(fromDomain(new DomainError("DEPENDENCY_UNAVAILABLE", "m")).headers).toBeUndefined();
    expect(fromDomain(new DomainError("CONFLICT", "m", { retryAfterS: 5 })).headers).toBeUndefined();
  });

  test("details stays a string and data carries the machine-readable facts", () => {
    const err = new DomainError("CART_CHECKED_OUT", "already checked out", {
      details: "order 42",
      data: { order_id: 42 },
    });
    expect(fromDomain(err).body()).toEqual({
      error: "CART_CHECKED_OUT",
      message: "already checked out",
      details: "order 42",
      data: { order_id: 42 },
    });
  });

  test("only answers are mapped: a bug stays a bug (the app answers it 500)", () => {
    const edge = new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "m");
    expect(toApiError(edge)).toBe(edge);
    expect(toApiError(new DomainError("NOT_FOUND", "m"))?.status).toBe(404);
    expect(toApiError(new TypeError("x is undefined"))).toBeUndefined();
  });
});
