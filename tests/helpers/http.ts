/** Small JSON helpers for contract tests. */
export interface Answer {
  status: number;
  body: unknown;
}

/**
 * Every error body these helpers see keeps the one rule of the contract: `details`, when present, is a
 * string; machine-readable facts are in the `data` object. A violation fails the test that made the call.
 */
function checked(status: number, body: unknown): Answer {
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

async function send(method: string, url: string, body: unknown, headers: Record<string, string>) {
  // No body at all (the contract's checkout): no content type either.
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { ...checked(res.status, text ? JSON.parse(text) : undefined), headers: res.headers };
}

export async function post(
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { status, body: answer } = await send("POST", url, body, headers);
  return { status, body: answer };
}

export async function put(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const { status, body: answer } = await send("PUT", url, body, headers);
  return { status, body: answer };
}

export async function get(url: string): Promise<Answer> {
  const res = await fetch(url);
  const text = await res.text();
  return checked(res.status, text ? JSON.parse(text) : undefined);
}

/**
 * POST as a real client does when the server sheds load: a 503 is sent again after its Retry-After (capped
 * at `maxWaitMs`, plus up to 100 ms of jitter so the retries do not arrive together) until `giveUpMs` has
 * passed; then the last 503 is the answer. `unavailable` holds the messages of the 503s it got on the way.
 */
export async function postRetrying(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  { maxWaitMs = 2000, giveUpMs = 30_000 } = {},
): Promise<Answer & { unavailable: string[] }> {
  const deadline = Date.now() + giveUpMs;
  const unavailable: string[] = [];
  for (;;) {
    const res = await send("POST", url, body, headers);
    if (res.status !== 503 || Date.now() >= deadline)
      return { status: res.status, body: res.body, unavailable };
    unavailable.push(String((res.body as { message?: unknown } | undefined)?.message));
    const retryAfterS = Number(res.headers.get("retry-after") ?? 1);
    await Bun.sleep(
      Math.min(maxWaitMs, (Number.isFinite(retryAfterS) ? retryAfterS : 1) * 1000) + Math.random() * 100,
    );
  }
}

/** Runs `task(i)` for i = 0..n-1 with at most `inFlight` running at once; the results in order of i. */
export async function pooled<T>(n: number, inFlight: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return results;
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

/** POST /orders/async of `${prefix}-0` … `${prefix}-${n - 1}`, 50 at a time; throws unless each is a 202. */
export async function acceptOrders(apiUrl: string, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (let i = 0; i < n; i += 50) {
    const answers = await Promise.all(
      ids.slice(i, i + 50).map((id) =>
        post(`${apiUrl}/orders/async`, {
          order_id: id,
          customer_id: 5,
          items: [{ product_id: 1, quantity: 1, price: 9.99 }],
        }),
      ),
    );
    const refused = answers.filter((a) => a.status !== 202);
    if (refused.length > 0) throw new Error(`orders refused: ${JSON.stringify(refused.slice(0, 3))}`);
  }
  return ids;
}
