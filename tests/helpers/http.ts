/** Small JSON helpers for contract tests. */

/**
 * Every error body these helpers see keeps the one rule of the contract: `details`, when present, is a
 * string; machine-readable facts are in the `data` object. A violation fails the test that made the call.
 */
function checked(status: number, body: unknown): { status: number; body: unknown } {
  if (status >= 400 && typeof body === "object" && body !== null) {
    const { details, data } = body as { details?: unknown; data?: unknown };
    if (details !== undefined && typeof details !== "string") {
      throw new Error(`error body with non-string details: ${JSON.stringify(body)}`);
    }
    if (data !== undefined && (typeof data !== "object" || data === null || Array.isArray(data))) {
      throw new Error(`error body whose data is not an object: ${JSON.stringify(body)}`);
    }
  }
  return { status, body };
}
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return checked(res.status, text ? JSON.parse(text) : undefined);
}

export async function put(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return checked(res.status, text ? JSON.parse(text) : undefined);
}

export async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  return checked(res.status, text ? JSON.parse(text) : undefined);
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A metric's value from /metrics text (sum over label sets matching `labels`). */
export async function metric(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(" ") || rest.startsWith("{"))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.split(" ").at(-1));
  }
  return sum;
}
