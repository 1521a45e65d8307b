/**
 * Everything that differs between Bun and Deno lives here: serving HTTP, signals, exiting and the
 * runtime's name. The rest of the code only speaks web-standard Request/Response.
 */

import http from "node:http";

declare const Deno:
  | {
      version: { deno: string };
      serve(
        options: { port: number; hostname: string; onListen?: () => void; signal?: AbortSignal },
        handler: (
          req: Request,
          info: { remoteAddr: { transport: string; hostname: string } },
        ) => Response | Promise<Response>,
      ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number } };
      upgradeWebSocket(
        req: Request,
        options?: { idleTimeout?: number },
      ): { socket: WebSocket; response: Response };
      addSignalListener(signal: string, handler: () => void): void;
      exit(code: number): never;
    }
  | undefined;

export const isDeno = typeof Deno !== "undefined";

export const runtimeName = isDeno ? `deno ${Deno?.version.deno}` : `bun ${Bun.version}`;

/**
 * The request line plus headers the runtime's own parser accepts; past it the runtime answers by
 * itself, before our code runs (docs/http-edge.md). Deno's (hyper's) bound is fixed at 64 KiB; Bun's
 * default is 16 KiB and is raised to the same 64 KiB, so both runtimes hand the same requests to the
 * app, which answers them like any other.
 */
export const HEAD_LIMIT_BYTES = 64 * 1024;

/**
 * How much of an unwanted request body (over the limit, or sent to a request we refuse) is read and
 * thrown away so that the client, still sending, gets the answer: Bun resets a connection whose
 * request body is unread when the response goes out, and the client then sees no answer at all.
 * Past this, Bun cuts the connection (a reset): reading a hostile upload forever costs more than a
 * client that ignores our limit deserves.
 */
export const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Makes an answer deliverable while the request body may still be arriving (see DISCARD_LIMIT_BYTES).
 * Bun: reads and discards the rest of the body, up to the discard bound, memory staying flat.
 * Deno answers and closes cleanly by itself, so the rest is not read.
 */
export async function discardBody(body: ReadableStream<Uint8Array>): Promise<void> {
  if (isDeno) {
    await body.cancel().catch(() => {});
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) if ((await reader.read()).done) return;
  } catch {
    // Bun's own bound (maxRequestBodySize) was reached, or the client went away: nothing left to read.
  }
}

/** A server-side WebSocket, the same on both runtimes. */
export interface WsPeer {
  /** False when the message was not queued: the socket is closing, or its send buffer is over the limit. */
  send(text: string): boolean;
  /** Bytes queued for this client and not yet written to the socket. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

export interface WsHandlers {
  open(peer: WsPeer): void;
  close(peer: WsPeer, code: number, reason: string): void;
}

/** Turns the request into a WebSocket; the returned response must be answered as is. */
export type Upgrade = (req: Request, handlers: WsHandlers) => Response;

/** Handed to the app as Hono's `c.env`: what a handler may ask of the runtime. */
export interface ServeEnv {
  upgrade: Upgrade;
  /** The peer's address (the load balancer's, behind one); asked only by the rate limiter. */
  peerAddress(req: Request): string | undefined;
}

export interface WebSocketOptions {
  /** Sends past this many buffered bytes fail (WsPeer.send answers false). */
  sendBufferBytes: number;
  /** The runtime pings idle clients at about this interval and drops those that stop answering. */
  pingMs: number;
}

export interface ServeOptions {
  port: number;
  hostname: string;
  maxRequestBodySize: number;
  websocket?: WebSocketOptions;
  fetch(req: Request, env: ServeEnv): Response | Promise<Response>;
}

export interface HttpServer {
  readonly port: number;
  /** Stops accepting connections and resolves once in-flight requests have answered. */
  stop(): Promise<void>;
}

export function serve(options: ServeOptions): HttpServer {
  const ws = options.websocket ?? { sendBufferBytes: 1024 * 1024, pingMs: 20_000 };
  if (isDeno && Deno) {
    const deno = Deno;
    const upgrade: Upgrade = (req, handlers) => upgradeDeno(deno, req, handlers, ws);
    const server = deno.serve(
      { port: options.port, hostname: options.hostname, onListen: () => {} },
      (req, info) =>
        options.fetch(req, {
          upgrade,
          peerAddress: () => (info.remoteAddr.transport === "tcp" ? info.remoteAddr.hostname : undefined),
        }),
    );
    return {
      port: server.addr.port,
      stop: () => server.shutdown(),
    };
  }
  const env: ServeEnv = {
    upgrade: (req, handlers) => {
      const data: BunSocketData = { handlers, peer: undefined };
      if (!server.upgrade(req, { data })) {
        return new Response(
          JSON.stringify({ error: "UPGRADE_REQUIRED", message: "expected a WebSocket upgrade" }),
          {
            status: 426,
            headers: { "Content-Type": "application/json", Upgrade: "websocket" },
          },
        );
      }
      // Bun answers the upgrade itself and ignores this response.
      return new Response(null);
    },
    peerAddress: (req) => server.requestIP(req)?.address,
  };
  // Bun reads its header limit from node:http's setting (the --max-http-header-size flag) when a server starts.
  (http as { maxHeaderSize: number }).maxHeaderSize = HEAD_LIMIT_BYTES;
  const server = Bun.serve<BunSocketData>({
    port: options.port,
    hostname: options.hostname,
    // The app enforces the body limit while streaming and discards what follows (discardBody); Bun's own
    // bound only ends a body that keeps coming past that.
    maxRequestBodySize: options.maxRequestBodySize + DISCARD_LIMIT_BYTES,
    // Bun's default (10 s) cuts a request whose answer takes longer (a loaded checkout) with a reset, and a
    // keep-alive connection must outlive the load balancer's idle timeout (3 pings: terraform/config.ts,
    // albIdleTimeoutSeconds), or the balancer reuses a connection Bun just closed and answers 502.
    idleTimeout: Math.min(255, Math.ceil((3 * ws.pingMs) / 1000) + 5),
    fetch: (req) => options.fetch(req, env),
    websocket: {
      backpressureLimit: ws.sendBufferBytes,
      // Bun pings shortly before the idle timeout (8..960 s) and closes clients that never answer.
      idleTimeout: Math.min(960, Math.max(8, Math.round(ws.pingMs / 1000))),
      sendPings: true,
      open(socket) {
        const peer: WsPeer = {
          // Bun: >0 bytes written, -1 queued under backpressure, 0 dropped (closed, or over backpressureLimit).
          send: (text) => socket.send(text) !== 0,
          bufferedAmount: () => socket.getBufferedAmount(),
          close: (code, reason) => socket.close(code, reason),
        };
        socket.data.peer = peer;
        socket.data.handlers.open(peer);
      },
      close(socket, code, reason) {
        if (socket.data.peer) socket.data.handlers.close(socket.data.peer, code, reason);
      },
      message() {
        // Subscribers only listen; what they send is ignored.
      },
    },
  });
  return {
    port: server.port ?? options.port,
    stop: () => server.stop(),
  };
}

interface BunSocketData {
  handlers: WsHandlers;
  peer: WsPeer | undefined;
}

function upgradeDeno(
  deno: NonNullable<typeof Deno>,
  req: Request,
  handlers: WsHandlers,
  ws: WebSocketOptions,
): Response {
  const { socket, response } = deno.upgradeWebSocket(req, { idleTimeout: Math.ceil(ws.pingMs / 1000) });
  const peer: WsPeer = {
    send: (text) => {
      if (socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > ws.sendBufferBytes) return false;
      socket.send(text);
      return true;
    },
    bufferedAmount: () => socket.bufferedAmount,
    close: (code, reason) => socket.close(code, reason),
  };
  socket.onopen = () => handlers.open(peer);
  socket.onclose = (e) => handlers.close(peer, e.code, e.reason);
  return response;
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

/** Set when stdout is gone (a closed pipe reports EPIPE asynchronously): further lines are dropped. */
let stdoutClosed = false;
process.stdout.on("error", () => {
  stdoutClosed = true;
});

export function writeOut(text: string): void {
  if (!stdoutClosed) process.stdout.write(text);
}
