import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RELAY_TOKEN, bodyHash } from '../../schema/index.ts'
import { generateKeys } from '../../local/keys.ts'
import { startTestDatabase, type TestDatabase } from '../../test/support/db.ts'
import { readAnswer, workerHarness, type WorkerHarness } from '../../test/support/workers.ts'
import { app } from '../app.ts'

let db: TestDatabase
let h: WorkerHarness
let dir: string

beforeAll(async () => {
  db = await startTestDatabase()
  dir = await mkdtemp(join(tmpdir(), 'mchat-auth-'))
  h = await workerHarness(db, dir)
})
afterAll(async () => {
  await h?.db.end()
  await db?.close()
  await rm(dir, { recursive: true, force: true })
})

const body = JSON.stringify({ action: 'org.tree' })
const bytes = new TextEncoder().encode(body)

async function token(
  claims: Partial<Record<'act' | 'cid' | 'seq' | 'bh', string>> = {},
  opts: { iat?: number; exp?: number; aud?: string; iss?: string; jwk?: string } = {},
) {
  const key = await importJWK(JSON.parse(opts.jwk ?? h.keys.relayPrivateJwk), 'EdDSA')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ act: 'org.tree', cid: 'admin.t', seq: '1', bh: await bodyHash(bytes), ...claims })
    .setProtectedHeader({ alg: 'EdDSA' })
    .setIssuer(opts.iss ?? RELAY_TOKEN.issuer)
    .setAudience(opts.aud ?? RELAY_TOKEN.audience)
    .setIssuedAt(opts.iat ?? now)
    .setExpirationTime(opts.exp ?? now + 30)
    .sign(key)
}

async function send(
  tok: string | null,
  sendBody: string | Uint8Array<ArrayBuffer> = bytes,
  path = '/v1/actions/org.tree',
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (tok !== null) headers.authorization = `Bearer ${tok}`
  const res = await app.request(path, { method: 'POST', body: sendBody, headers }, h.env)
  return readAnswer(res)
}

describe('relay token', () => {
  it('accepts a valid token (the request then reaches session resolution: unbound → 401 from there)', async () => {
    const a = await send(await token())
    expect(a.status).toBe(401)
    expect(a.reply.message).toBe('client is not bound: send auth.bind first')
  })

  it('rejects a missing token', async () => {
    const a = await send(null)
    expect([a.status, a.reply.code, a.reply.message]).toEqual([401, 401, 'relay token missing'])
  })

  it('rejects an expired token', async () => {
    const now = Math.floor(Date.now() / 1000)
    const a = await send(await token({}, { iat: now - 40, exp: now - 10 }))
    expect(a.status).toBe(401)
    expect(a.reply.message).toMatch(/relay token rejected \(ERR_JWT_EXPIRED\)/)
  })

  it('rejects a token issued too long ago even if its exp is far away', async () => {
    const now = Math.floor(Date.now() / 1000)
    const a = await send(await token({}, { iat: now - 120, exp: now + 600 }))
    expect(a.status).toBe(401)
  })

  it('rejects a token that lives longer than 60 s', async () => {
    const now = Math.floor(Date.now() / 1000)
    const a = await send(await token({}, { iat: now, exp: now + 3600 }))
    expect(a.status).toBe(401)
    expect(a.reply.message).toBe('relay token lives too long')
  })

  it('rejects a valid token replayed with another body (a tampered body)', async () => {
    const a = await send(await token(), JSON.stringify({ action: 'org.tree', x: 1 }))
    expect(a.status).toBe(401)
    expect(a.reply.message).toBe('body does not match the relay token')
  })

  it('rejects a token signed with another key', async () => {
    const other = await generateKeys()
    const a = await send(await token({}, { jwk: other.relayPrivateJwk }))
    expect(a.status).toBe(401)
    expect(a.reply.message).toMatch(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/)
  })

  it('rejects a token for another action', async () => {
    const a = await send(await token({ act: 'auth.bind' }))
    expect(a.status).toBe(401)
    expect(a.reply.message).toBe('relay token is for another action')
  })

  it('rejects the wrong audience and the wrong issuer', async () => {
    expect((await send(await token({}, { aud: 'someone-else' }))).status).toBe(401)
    expect((await send(await token({}, { iss: 'someone-else' }))).status).toBe(401)
  })

  it('rejects an HS256 token made with the public key as secret (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(h.keys.relayPublicJwk)
    const forged = await new SignJWT({ act: 'org.tree', cid: 'admin.t', seq: '1', bh: await bodyHash(bytes) })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(RELAY_TOKEN.issuer)
      .setAudience(RELAY_TOKEN.audience)
      .setIssuedAt()
      .setExpirationTime('30s')
      .sign(secret)
    expect((await send(forged)).status).toBe(401)
  })

  it('rejects a token without its claims', async () => {
    const a = await send(await token({ bh: 'short' }))
    expect([a.status, a.reply.message]).toEqual([401, 'relay token lacks its claims'])
  })

  it('answers unknown routes with 404 and never reaches a handler', async () => {
    const a = await send(await token({ act: 'nope.nope' }), bytes, '/v1/actions/nope.nope')
    expect([a.status, a.reply.code]).toEqual([404, 404])
  })
})
