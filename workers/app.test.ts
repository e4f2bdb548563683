import { describe, expect, it } from 'vitest'
import { generateKeys } from '../local/keys.ts'
import { freePort } from '../local/ports.ts'
import { createSigner } from '../relay/sign.ts'
import { readAnswer } from '../test/support/workers.ts'
import { app } from './app.ts'
import type { Bindings } from './env.ts'

describe('the workers app', () => {
  it('answers 503 (retry as is) when the database cannot be reached', async () => {
    const keys = await generateKeys()
    const env: Bindings = {
      DATABASE_URL: 'postgres://u:p@127.0.0.1/db',
      NEON_FETCH_ENDPOINT: `http://127.0.0.1:${await freePort()}/sql`, // nothing listens there
      RELAY_PUBLIC_KEY: keys.relayPublicJwk,
      CREDENTIAL_SECRET: keys.credentialSecret,
    }
    const body = new TextEncoder().encode(JSON.stringify({ action: 'org.tree' }))
    const token = await (
      await createSigner(keys.relayPrivateJwk)
    )({ action: 'org.tree', clientId: 'a.b', seqId: '1', body })
    const res = await app.request(
      '/v1/actions/org.tree',
      { method: 'POST', body, headers: { authorization: `Bearer ${token}` } },
      env,
    )
    const a = await readAnswer(res)
    expect([a.status, a.reply]).toEqual([503, { code: 503, message: 'database unavailable', data: null }])
  })

  it('refuses a RELAY_PUBLIC_KEY that holds a private key (a worker must not be able to sign)', async () => {
    const keys = await generateKeys()
    const env = {
      DATABASE_URL: 'postgres://u:p@127.0.0.1/db',
      RELAY_PUBLIC_KEY: keys.relayPrivateJwk,
      CREDENTIAL_SECRET: keys.credentialSecret,
    }
    const body = new TextEncoder().encode(JSON.stringify({ action: 'org.tree' }))
    const token = await (
      await createSigner(keys.relayPrivateJwk)
    )({ action: 'org.tree', clientId: 'a.b', seqId: '1', body })
    const res = await app.request(
      '/v1/actions/org.tree',
      { method: 'POST', body, headers: { authorization: `Bearer ${token}` } },
      env,
    )
    expect((await readAnswer(res)).reply).toEqual({ code: 500, message: 'internal error', data: null })
  })

  it('answers a health check without touching anything', async () => {
    const res = await app.request('/healthz', {}, {})
    expect([res.status, await res.text()]).toEqual([200, 'ok'])
  })
})
