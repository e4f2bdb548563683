import { createHash } from 'node:crypto'
import { SignJWT, importJWK, type JWK } from 'jose'
import { RELAY_TOKEN } from '../schema/index.ts'

export interface RelayCallToSign {
  action: string
  clientId: string
  seqId: string
  body: Uint8Array
}

export type Signer = (call: RelayCallToSign) => Promise<string>

/** Signs each relay → worker call: EdDSA, short-lived, bound to action, ids and body hash. */
export async function createSigner(
  privateJwk: string | JWK,
  ttlSeconds: number = RELAY_TOKEN.ttlSeconds,
): Promise<Signer> {
  const jwk = typeof privateJwk === 'string' ? (JSON.parse(privateJwk) as JWK) : privateJwk
  const key = await importJWK(jwk, RELAY_TOKEN.alg)
  return async function sign(call) {
    // schema's bodyHash, computed synchronously: WebCrypto's digest job cost the relay ~8 % of its
    // CPU per request for ~100 bytes (docs/benchmarks.md). Same bytes, same base64url SHA-256.
    const bh = createHash('sha256').update(call.body).digest('base64url')
    return new SignJWT({ act: call.action, cid: call.clientId, seq: call.seqId, bh })
      .setProtectedHeader({ alg: RELAY_TOKEN.alg })
      .setIssuer(RELAY_TOKEN.issuer)
      .setAudience(RELAY_TOKEN.audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(key)
  }
}
