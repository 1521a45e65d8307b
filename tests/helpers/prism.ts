/**
 * Stoplight Prism as a validating proxy in front of a running shop: every request and response is
 * checked against an OpenAPI document, and Prism reports what it found in the `sl-violations`
 * response header (it runs offline: the document is a local file, the upstream a local port).
 */
import type { Subprocess } from "bun";
import { freePort, ROOT } from "./shop.ts";

export interface Violation {
  location: string[];
  severity: "Error" | "Warning" | "Information" | "Hint";
  code?: string | number;
  message: string;
}

export interface Exchange {
  method: string;
  path: string;
  status: number;
  /** The uniform error body's code, when the answer is an error. */
  error: string | undefined;
  /** Sent with an Idempotency-Key header (shop's extension to the contract). */
  idempotencyKey: boolean;
  violations: Violation[];
}

export interface Prism {
  url: string;
  /** Every exchange that went through Prism since start, in order. */
  exchanges: Exchange[];
  /** Requests sent to shop directly because Prism cannot carry them (a malformed JSON body). */
  bypassed: string[];
  stop(): Promise<void>;
}

/**
 * api.yaml declares API-key or JWT security on every operation, and shop enforces it: the suites'
 * requests carry no credential of their own, so the proxy adds `credential` (a real key shop was started
 * with) to each request that has none, except where `ownCredentials` says the suite tests the guard itself.
 */
export interface PrismCredential {
  headers: Record<string, string>;
  ownCredentials(method: string, path: string): boolean;
}

/**
 * Starts Prism on `document` in front of `upstream` and routes this process's fetch() calls to
 * `upstream` through it, recording each exchange. stop() restores fetch.
 */
export async function startPrism(
  document: string,
  upstream: string,
  credential: PrismCredential,
): Promise<Prism> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(
    [`${ROOT}node_modules/.bin/prism`, "proxy", document, upstream, "--port", String(port), "--errors=false"],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } },
  );
  const original = globalThis.fetch;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`prism exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
    if (Date.now() > deadline) throw new Error("prism did not start listening");
    try {
      await original(`${url}/health`);
      break;
    } catch {
      await Bun.sleep(100);
    }
  }
  const exchanges: Exchange[] = [];
  const bypassed: string[] = [];
  const proxied = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    if (!req.url.startsWith(upstream)) return original(req);
    const path = req.url.slice(upstream.length);
    const body = req.body ? await req.text() : undefined;
    const headers = new Headers(req.headers);
    const carries = headers.has("authorization") || headers.has("x-api-key");
    if (!carries && !credential.ownCredentials(req.method, path))
      for (const [k, v] of Object.entries(credential.headers)) headers.set(k, v);
    if (body !== undefined && isJson(req.headers.get("content-type")) && !parses(body)) {
      // Prism 5.16 never answers a request whose JSON body does not parse (stoplightio/prism#2664).
      bypassed.push(`${req.method} ${path}`);
      return original(req.url, { method: req.method, headers, body });
    }
    const res = await original(`${url}${path}`, { method: req.method, headers, body });
    const text = await res.text();
    let error: string | undefined;
    if (res.status >= 400 && parses(text)) error = (JSON.parse(text) as { error?: string }).error;
    exchanges.push({
      method: req.method,
      path: path.replace(/\?.*$/, ""),
      status: res.status,
      error,
      idempotencyKey: req.headers.has("idempotency-key"),
      violations: JSON.parse(res.headers.get("sl-violations") ?? "[]") as Violation[],
    });
    return new Response(res.status === 204 ? null : text, { status: res.status, headers: res.headers });
  };
  globalThis.fetch = Object.assign(proxied, { preconnect: original.preconnect });
  return {
    url,
    exchanges,
    bypassed,
    stop: async () => {
      globalThis.fetch = original;
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

const isJson = (type: string | null) => type !== null && /json/i.test(type);

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
