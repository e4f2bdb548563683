import { base64url } from 'jose'
import * as z from 'zod'

/**
 * The relay → worker call is signed (DESIGN contract 4): an EdDSA JWT so workers hold only the
 * public key and can verify but never mint. The token binds the action, the client_id and seq_id
 * taken from the topic, and the SHA-256 of the exact body bytes.
 */
export const RELAY_TOKEN = {
  alg: 'EdDSA',
  issuer: 'mchat-relay',
  audience: 'mchat-workers',
  ttlSeconds: 30,
  maxAgeSeconds: 60,
} as const

export const relayClaims = z.object({
  act: z.string().min(1),
  cid: z.string().min(1),
  seq: z.string().min(1),
  bh: z.string().length(43),
})
export type RelayClaims = z.infer<typeof relayClaims>

export async function bodyHash(body: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>)
  return base64url.encode(new Uint8Array(digest))
}

export const actionPath = (action: string) => `/v1/actions/${action}`
