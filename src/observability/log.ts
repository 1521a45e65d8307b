import { writeOut } from "../runtime.ts";
import { tracing } from "./tracing.ts";

export type Level = "debug" | "info" | "warn" | "error" | "silent";
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /**
   * Writes a line from a pre-serialised fragment (`"k":v,…`, valid JSON members), when `level` is
   * enabled: the access line is built by hand because JSON.stringify of a fresh object per request was
   * measurable. Unlike error(), an error fragment does not flush at once: a burst of 5xx would otherwise
   * cost a write each; the buffer is flushed within FLUSH_MS and before exit.
   */
  fragment(level: Exclude<Level, "silent">, msg: string, fragment: string): void;
  /** A logger whose lines all carry `fields` (the request id, a module name). */
  child(fields: Fields): Logger;
  enabled(level: Level): boolean;
}

/**
 * Lines are buffered and written every FLUSH_MS or FLUSH_BYTES, whichever comes first: a write per
 * request (or per event-loop turn) through process.stdout cost more than the rest of a product read.
 * Errors are flushed at once, and `flush()` runs before exit.
 */
const FLUSH_MS = 25;
const FLUSH_BYTES = 64 * 1024;

class Sink {
  private buffer = "";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private broken = false;
  constructor(private readonly write: (text: string) => void) {}

  push(line: string): void {
    this.buffer += line;
    if (this.buffer.length >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer === "") return;
    const text = this.buffer;
    this.buffer = "";
    if (this.broken) return;
    try {
      this.write(text);
    } catch {
      // stdout is gone (a closed pipe): there is nowhere to log to, and retrying would only spin.
      this.broken = true;
    }
  }
}

export function errorFields(err: unknown): Fields {
  if (err instanceof Error) return { error: err.message, error_name: err.name, stack: err.stack };
  return { error: String(err) };
}

/** ISO time, formatted once per millisecond: at tens of thousands of lines a second that matters. */
let lastMs = 0;
let lastIso = "";
function now(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function createLogger(
  level: Level,
  write: (text: string) => void = writeOut,
): Logger & { flush(): void } {
  const sink = new Sink(write);
  const min = rank[level];
  const make = (base: string): Logger => {
    const emit = (lvl: Level, msg: string, fields?: Fields) => {
      if (rank[lvl] < min) return;
      let line = `{"time":"${now()}","level":"${lvl}","msg":${JSON.stringify(msg)}${base}`;
      // Inside a span (a request, an order, a bid batch) every line names its trace.
      const traceId = tracing()?.traceId();
      if (traceId !== undefined) line += `,"trace_id":"${traceId}"`;
      if (fields) {
        const rest = JSON.stringify(fields);
        if (rest.length > 2) line += `,${rest.slice(1, -1)}`;
      }
      sink.push(`${line}}\n`);
      // An error may be the last thing the process says.
      if (lvl === "error") sink.flush();
    };
    // Per level, message → the line's fixed middle: no string is built per line but the line itself.
    const heads = { debug: new Map(), info: new Map(), warn: new Map(), error: new Map() } as Record<
      Exclude<Level, "silent">,
      Map<string, string>
    >;
    return {
      fragment: (lvl, m, fragment) => {
        if (rank[lvl] < min) return;
        let head = heads[lvl].get(m);
        if (head === undefined) {
          head = `","level":"${lvl}","msg":${JSON.stringify(m)}${base},`;
          heads[lvl].set(m, head);
        }
        sink.push(`{"time":"${now()}${head}${fragment}}\n`);
      },
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      enabled: (lvl) => rank[lvl] >= min,
      child: (fields) => {
        const extra = JSON.stringify(fields);
        return make(extra.length > 2 ? `${base},${extra.slice(1, -1)}` : base);
      },
    };
  };
  return Object.assign(make(""), { flush: () => sink.flush() });
}
