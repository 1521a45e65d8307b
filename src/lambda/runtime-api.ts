/**
 * The Lambda Runtime API (version 2018-06-01), spoken directly over HTTP: the four calls a custom
 * runtime makes, with no runtime-interface client in between.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */

export interface Invocation {
  requestId: string;
  /** When Lambda stops the invocation, in Unix milliseconds (`Lambda-Runtime-Deadline-Ms`). */
  deadlineMs: number;
  traceId: string | undefined;
  /** The event exactly as Lambda sent it. */
  payload: string;
}

/** The error document Lambda records for an invocation or for init. */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
}

export class RuntimeApiError extends Error {
  override name = "RuntimeApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE_PATH = "/2018-06-01/runtime";

/** `host:port`, as Lambda sets AWS_LAMBDA_RUNTIME_API. */
export function isRuntimeApiAddress(value: string): boolean {
  return /^[A-Za-z0-9.-]+:\d{1,5}$/.test(value) || /^\[[0-9A-Fa-f:]+\]:\d{1,5}$/.test(value);
}

export class RuntimeApi {
  private readonly base: string;

  constructor(address: string) {
    this.base = `http://${address}${BASE_PATH}`;
  }

  /** Blocks until Lambda hands over the next event; the sandbox is frozen while it waits. */
  async next(): Promise<Invocation> {
    // Bun ends a fetch that has received nothing for 5 minutes; a frozen sandbox can wait far longer.
    const res = await fetch(`${this.base}/invocation/next`, { timeout: false } as RequestInit);
    const payload = await res.text();
    if (res.status !== 200)
      throw new RuntimeApiError(res.status, `next invocation: ${res.status} ${payload}`);
    const requestId = res.headers.get("Lambda-Runtime-Aws-Request-Id");
    const deadlineMs = Number(res.headers.get("Lambda-Runtime-Deadline-Ms"));
    if (!requestId || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new RuntimeApiError(res.status, "next invocation without a request id or deadline");
    }
    return {
      requestId,
      deadlineMs,
      traceId: res.headers.get("Lambda-Runtime-Trace-Id") ?? undefined,
      payload,
    };
  }

  respond(requestId: string, body: unknown): Promise<void> {
    return this.post(`/invocation/${encodeURIComponent(requestId)}/response`, body, undefined);
  }

  invocationError(requestId: string, error: FunctionError): Promise<void> {
    return this.post(`/invocation/${encodeURIComponent(requestId)}/error`, errorBody(error), error.errorType);
  }

  initError(error: FunctionError): Promise<void> {
    return this.post("/init/error", errorBody(error), error.errorType);
  }

  private async post(path: string, body: unknown, errorType: string | undefined): Promise<void> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (errorType !== undefined) headers["Lambda-Runtime-Function-Error-Type"] = errorType;
    const res = await fetch(`${this.base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = await res.text();
    if (res.status !== 202) throw new RuntimeApiError(res.status, `POST ${path}: ${res.status} ${answer}`);
  }
}

const errorBody = (error: FunctionError) => ({ ...error, stackTrace: [] as string[] });
