/**
 * Everything that differs between Bun and Deno lives here: serving HTTP, signals, exiting and the
 * runtime's name. The rest of the code only speaks web-standard Request/Response.
 */

declare const Deno:
  | {
      version: { deno: string };
      serve(
        options: { port: number; hostname: string; onListen?: () => void; signal?: AbortSignal },
        handler: (req: Request) => Response | Promise<Response>,
      ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number } };
      addSignalListener(signal: string, handler: () => void): void;
      exit(code: number): never;
    }
  | undefined;

export const isDeno = typeof Deno !== "undefined";

export const runtimeName = isDeno ? `deno ${Deno?.version.deno}` : `bun ${Bun.version}`;

export interface ServeOptions {
  port: number;
  hostname: string;
  maxRequestBodySize: number;
  fetch(req: Request): Response | Promise<Response>;
}

export interface HttpServer {
  readonly port: number;
  /** Stops accepting connections and resolves once in-flight requests have answered. */
  stop(): Promise<void>;
}

export function serve(options: ServeOptions): HttpServer {
  if (isDeno && Deno) {
    const server = Deno.serve(
      { port: options.port, hostname: options.hostname, onListen: () => {} },
      options.fetch,
    );
    return {
      port: server.addr.port,
      stop: () => server.shutdown(),
    };
  }
  const server = Bun.serve({
    port: options.port,
    hostname: options.hostname,
    // Bun rejects larger bodies before they reach us; the app's own limit answers with the uniform error body,
    // so Bun's bound only needs to be above it.
    maxRequestBodySize: options.maxRequestBodySize + 1024,
    fetch: options.fetch,
  });
  return {
    port: server.port ?? options.port,
    stop: () => server.stop(),
  };
}

export function onShutdownSignal(handler: (signal: string) => void): void {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    if (isDeno && Deno) Deno.addSignalListener(signal, () => handler(signal));
    else process.on(signal, () => handler(signal));
  }
}

export function exit(code: number): never {
  if (isDeno && Deno) Deno.exit(code);
  process.exit(code);
}

export function writeOut(text: string): void {
  process.stdout.write(text);
}
