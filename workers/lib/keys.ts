import { importJWK, type CryptoKey, type JWK } from 'jose'
import { RELAY_TOKEN } from '../../schema/index.ts'

// Imported keys are the one thing a worker may keep between requests (DESIGN contract 8).
const imported = new Map<string, Promise<CryptoKey | Uint8Array>>()

export function relayPublicKey(jwkJson: string): Promise<CryptoKey | Uint8Array> {
  let key = imported.get(jwkJson)
  if (!key) {
    const jwk = JSON.parse(jwkJson) as JWK
    // A private JWK here would let a worker mint relay tokens: refuse it.
    if ('d' in jwk) throw new Error('RELAY_PUBLIC_KEY must be a public key (it has a private part "d")')
    key = importJWK({ ...jwk, key_ops: ['verify'] }, RELAY_TOKEN.alg)
    key.catch(() => imported.delete(jwkJson))
    imported.set(jwkJson, key)
  }
  return key
}
