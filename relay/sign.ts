import { SignJWT, importJWK, type JWK } from 'jose'
import { RELAY_TOKEN, bodyHash } from '../schema/index.ts'

export interface RelayCallToSign {
  action: string
  clientId: string
  seqId: string
  body: Uint8Array
}

export type Signer = (call: RelayCallToSign) => Promise<string>

/** Signs each relay → worker call: EdDSA, short-lived, bound to action, ids and body hash. */
export async function createSigner(privateJwk: string | JWK, ttlSeconds: number = RELAY_TOKEN.ttlSeconds): Promise<Signer> {
  const jwk = typeof privateJwk === 'string' ? (JSON.parse(privateJwk) as JWK) : privateJwk
  const key = await importJWK(jwk, RELAY_TOKEN.alg)
  return async function sign(call) {
    return new SignJWT({ act: call.action, cid: call.clientId, seq: call.seqId, bh: await bodyHash(call.body) })
      .setProtectedHeader({ alg: RELAY_TOKEN.alg })
      .setIssuer(RELAY_TOKEN.issuer)
      .setAudience(RELAY_TOKEN.audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(key)
  }
}
