/** A loopback port nobody listens on: bind port 0, read the port, release it. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port ?? 0;
  s.stop(true);
  return port;
}
