import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The uniform error body of every non-2xx answer. */
export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "INVALID_INPUT" }),
    message: z.string().openapi({ example: "The provided input data is invalid" }),
    details: z.unknown().optional().openapi({ example: "productId: must be an integer in 1..2147483647" }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorSchema>;

/** Thrown anywhere below a handler; turned into the uniform body by the app's error handler. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): ErrorBody {
    return this.details === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, message: this.message, details: this.details };
  }
}

export const invalidInput = (message: string, details?: unknown) =>
  new ApiError(400, "INVALID_INPUT", message, details);
export const notFound = (message: string) => new ApiError(404, "NOT_FOUND", message);
export const conflict = (message: string, details?: unknown) =>
  new ApiError(409, "CONFLICT", message, details);
export const unavailable = (message: string, retryAfterS?: number) =>
  new ApiError(
    503,
    "SERVICE_UNAVAILABLE",
    message,
    undefined,
    retryAfterS === undefined ? undefined : { "Retry-After": String(retryAfterS) },
  );

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
