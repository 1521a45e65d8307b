import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type OutcomeCode, type OutcomeData } from "../domain/outcomes.ts";

/**
 * The uniform error body of every non-2xx answer. One rule for all errors: `details` is a string for
 * people (api.yaml types it so); machine-readable facts go in `data`, an object whose fields each code
 * documents (docs/architecture.md, "Errors").
 */
export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "INVALID_INPUT" }),
    message: z.string().openapi({ example: "The provided input data is invalid" }),
    details: z.string().optional().openapi({ example: "productId: must be an integer in 1..2147483647" }),
    data: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description: "Machine-readable facts of the error, by code (e.g. CART_CHECKED_OUT: {order_id})",
        example: { order_id: 42 },
      }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorSchema>;

/** An answer decided at the HTTP edge itself (auth, media type, size, routing); use cases raise DomainError. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: string,
    readonly headers?: Record<string, string>,
    readonly data?: OutcomeData,
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): ErrorBody {
    const body: ErrorBody = { error: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    if (this.data !== undefined) body.data = this.data;
    return body;
  }
}

/**
 * Every domain outcome code's HTTP answer: the status, the wire code where it differs from the domain's,
 * and whether a Retry-After the outcome carries is sent.
 */
export const OUTCOME_HTTP: Record<
  OutcomeCode,
  { status: ContentfulStatusCode; error?: string; retryAfter?: true }
> = {
  INVALID_INPUT: { status: 400 },
  CART_EMPTY: { status: 400 },
  CART_CHECKED_OUT: { status: 400 },
  // 400 like CART_CHECKED_OUT: api.yaml answers adding items with 400, 404 or 500 only.
  CART_PAID: { status: 400 },
  INSUFFICIENT_STOCK: { status: 400 },
  PAYMENT_DECLINED: { status: 402 },
  // 400 as api.yaml's "invalid shopping cart state" (CART_CHECKED_OUT): a 409 is not in the contract here.
  ORDER_FAILED: { status: 400 },
  NOT_FOUND: { status: 404 },
  CONFLICT: { status: 409 },
  BID_TOO_LOW: { status: 409 },
  AUCTION_CLOSED: { status: 409 },
  DEPENDENCY_UNAVAILABLE: { status: 503, error: "SERVICE_UNAVAILABLE", retryAfter: true },
  TRY_AGAIN: { status: 503, retryAfter: true },
};

export function fromDomain(err: DomainError): ApiError {
  const http = OUTCOME_HTTP[err.code];
  const headers =
    http.retryAfter && err.retryAfterS !== undefined ? { "Retry-After": String(err.retryAfterS) } : undefined;
  return new ApiError(http.status, http.error ?? err.code, err.message, err.details, headers, err.data);
}

/** The HTTP answer of anything a handler throws that is an answer; undefined for bugs and the unknown. */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return fromDomain(err);
  return undefined;
}

/** `a.b: message; c: message`: the contract types `details` as a string, and it names every bad field. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${i.path.length ? i.path.map(String).join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}

/** Error responses shared by every route definition, so the OpenAPI document lists them once per route. */
export const errorResponses = (...statuses: (400 | 401 | 402 | 403 | 404 | 409 | 413 | 415 | 503)[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: errorDescriptions[s], content: { "application/json": { schema: ErrorSchema } } },
    ]),
  );

const errorDescriptions = {
  400: "Invalid input",
  401: "Missing or wrong bearer token",
  402: "Payment declined",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Body larger than BODY_LIMIT_BYTES",
  415: "Body is not application/json",
  503: "A dependency is unavailable; retry later",
} as const;
