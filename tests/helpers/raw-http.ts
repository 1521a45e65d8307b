/**
 * Raw HTTP/1.1 over a TCP socket, for requests fetch() will not send: unknown methods, oversized
 * URLs and headers, lying or missing Content-Length, chunked bodies of any size, aborts mid-body.
 */
import { connect, type Socket } from "node:net";

export interface RawResponse {
  /** 0 when the connection ended without a status line. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How the exchange ended: a full response, the peer closing or resetting without one. */
  outcome: "response" | "closed" | "reset";
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Sent as is after the head; a generator streams it (e.g. chunks of a huge body) as the socket drains. */
  body?: string | Uint8Array | (() => AsyncIterable<Uint8Array | string>);
}

export function rawRequest(port: number, req: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const method = req.method ?? "GET";
  const headers = { host: `127.0.0.1:${port}`, connection: "close", ...req.headers };
  const head = `${method} ${req.path ?? "/"} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
  return new Promise((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: RawResponse["outcome"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks), outcome));
    };
    const timer = setTimeout(() => finish("closed"), timeoutMs);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      // A complete response ends the exchange even if the server keeps reading the body we send.
      if (complete(Buffer.concat(chunks))) finish("response");
    });
    socket.on("end", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    socket.on("error", () => finish(chunks.length ? "closed" : "reset"));
    socket.on("connect", async () => {
      socket.write(head);
      const body = req.body;
      if (body === undefined) return;
      if (typeof body === "string" || body instanceof Uint8Array) {
        socket.write(body);
        return;
      }
      try {
        for await (const part of body()) {
          if (settled || socket.destroyed) return;
          if (!socket.write(part)) await new Promise((r) => socket.once("drain", r));
        }
      } catch {
        // The server stopped reading: the response (or the reset) says why.
      }
    });
  });
}

function parse(buf: Buffer, outcome: RawResponse["outcome"]): RawResponse {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0)
    return { status: 0, headers: {}, body: "", outcome: outcome === "response" ? "closed" : outcome };
  const [statusLine = "", ...lines] = buf.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = buf.subarray(end + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) body = dechunk(body);
  else if (headers["content-length"] !== undefined)
    body = body.subarray(0, Number(headers["content-length"]));
  return {
    status: Number(statusLine.split(" ")[1] ?? 0),
    headers,
    body: body.toString("utf8"),
    outcome: "response",
  };
}

function complete(buf: Buffer): boolean {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = buf.subarray(0, end).toString("latin1").toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) return buf.length - end - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) return buf.subarray(end + 4).includes("0\r\n\r\n");
  return false;
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = Number.parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (!size) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** A chunked body of `total` bytes of `fill`, in `chunk`-byte chunks, framed for Transfer-Encoding: chunked. */
export function chunkedBody(total: number, chunk = 64 * 1024, fill = "x"): () => AsyncIterable<string> {
  return async function* () {
    const full = fill.repeat(chunk);
    for (let sent = 0; sent < total; sent += chunk) {
      const n = Math.min(chunk, total - sent);
      yield `${n.toString(16)}\r\n${n === chunk ? full : full.slice(0, n)}\r\n`;
    }
    yield "0\r\n\r\n";
  };
}

/** A fixed-length body of `total` bytes, streamed in chunks (send with a matching Content-Length). */
export function streamedBody(total: number, chunk = 64 * 1024, fill = "x"): () => AsyncIterable<string> {
  return async function* () {
    const full = fill.repeat(chunk);
    for (let sent = 0; sent < total; sent += chunk) yield full.slice(0, Math.min(chunk, total - sent));
  };
}
