/**
 * An identity provider inside the tests: signing keys generated here, a JWKS endpoint on a free port that
 * counts its fetches, and tokens signed with any of the keys (or deliberately broken).
 */

import { createHmac } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export const ISSUER = "https://idp.test/";
export const AUDIENCE = "shop-api";

type Alg = "RS256" | "ES256" | "EdDSA";

interface SigningKey {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface Idp {
  jwksUrl: string;
  /** GETs the JWKS endpoint has answered. */
  fetches(): number;
  /** A key that signs but is not published (yet): publish() adds it to the JWKS. */
  newKey(alg: Alg, kid: string): Promise<SigningKey>;
  publish(key: SigningKey): void;
  sign(claims: JWTPayload, opts?: { key?: SigningKey; alg?: Alg }): Promise<string>;
  /** The published RS256 key's public JWK: what an attacker would use as an HMAC secret. */
  rsaPublic(): JWK;
  stop(): void;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

/** A JWT with an arbitrary header and signature, for the tokens jose must refuse. */
export function rawToken(header: object, payload: object, sign: (input: string) => string): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${sign(input)}`;
}

export const hs256 = (secret: string) => (input: string) =>
  createHmac("sha256", secret).update(input).digest("base64url");

export function claims(sub: string, scope: string, extra: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub, scope, iat: now, exp: now + 600, ...extra };
}

export async function startIdp(): Promise<Idp> {
  const published: SigningKey[] = [];
  let fetches = 0;
  const newKey = async (alg: Alg, kid: string): Promise<SigningKey> => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
  };
  for (const [alg, kid] of [
    ["RS256", "rsa-1"],
    ["ES256", "ec-1"],
    ["EdDSA", "ed-1"],
  ] as const)
    published.push(await newKey(alg, kid));
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => {
      fetches++;
      return Response.json({ keys: published.map((k) => k.publicJwk) });
    },
  });
  const byAlg = (alg: Alg) => published.find((k) => k.alg === alg) as SigningKey;
  return {
    jwksUrl: `http://127.0.0.1:${server.port}/.well-known/jwks.json`,
    fetches: () => fetches,
    newKey,
    publish: (key) => void published.push(key),
    sign: async (payload, opts = {}) => {
      const key = opts.key ?? byAlg(opts.alg ?? "RS256");
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
    },
    rsaPublic: () => byAlg("RS256").publicJwk,
    stop: () => void server.stop(true),
  };
}
