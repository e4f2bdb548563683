import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { freePort } from '../../local/ports.ts'
import { startTestDatabase, type TestDatabase } from '../support/db.ts'
import { readAnswer, workerHarness } from '../support/workers.ts'
import { denoBin, realServicesMissing } from '../support/services.ts'
import { run, sendTo, start, waitForHttp, type Server } from './process.ts'

/**
 * The workers under Deno, for real: `deno check` of the Deno entry, and `deno serve` of it with
 * the bindings as environment variables, answering relay-signed requests from the test database.
 */

const ENTRY = 'workers/entry/deno.ts'
let tmp: string
/** What every deno invocation gets: no $HOME cache, no update check, nothing else inherited. */
let denoEnv: NodeJS.ProcessEnv

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mchat-deno-'))
  denoEnv = { PATH: process.env.PATH, DENO_DIR: join(tmp, 'deno-dir'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }
})
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe.skipIf(realServicesMissing('deno'))('deno check', () => {
  it(`type-checks ${ENTRY}`, { timeout: 120_000 }, async () => {
    const r = await run(denoBin, ['check', ENTRY], { env: denoEnv, timeoutMs: 110_000 })
    console.log(`deno check ${ENTRY}: ${(r.ms / 1000).toFixed(2)} s (fresh DENO_DIR)`)
    expect(r.code, `deno check failed:\n${r.stdout}\n${r.stderr}`).toBe(0)
  })
})

describe.skipIf(realServicesMissing('deno'))('deno serve', () => {
  let db: TestDatabase
  let h: Awaited<ReturnType<typeof workerHarness>>
  let server: Server
  let base: string

  beforeAll(async () => {
    db = await startTestDatabase()
    const dataDir = join(tmp, 'data')
    await mkdir(dataDir)
    h = await workerHarness(db, dataDir)
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    const args = ['serve', '--allow-net', '--allow-env', '--host', '127.0.0.1', '--port', String(port), ENTRY]
    server = start(denoBin, args, { env: { ...denoEnv, ...h.env } })
    const ms = await waitForHttp(`${base}/healthz`, server, 60_000)
    console.log(`deno serve ${ENTRY}: answering /healthz after ${(ms / 1000).toFixed(2)} s (database: ${db.kind})`)
  }, 90_000)

  afterAll(async () => {
    await server?.stop()
    await h?.db.end()
    await db?.close()
  })

  it('binds a signed auth.bind and lists the admin in org.tree, through the Neon driver', async () => {
    const password = h.admin.mqtt_connection.mqtt_password
    const bind = await readAnswer(
      await sendTo(base, await h.request('auth.bind', 'admin.deno', 'seq-1', { mqtt_password: password })),
    )
    expect(bind, server.output()).toMatchObject({ status: 200, reply: { code: 0, data: { employee_id: 'admin' } } })

    // The Deno-served worker wrote the session into the test database.
    const { rows } = await h.db.query('SELECT employee_id FROM client_session WHERE client_id = $1', ['admin.deno'])
    expect(rows).toEqual([{ employee_id: 'admin' }])

    const tree = await readAnswer(await sendTo(base, await h.request('org.tree', 'admin.deno', 'seq-2', {})))
    expect(tree, server.output()).toMatchObject({ status: 200, reply: { code: 0 } })
    expect(tree.reply.data.employees).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ employee_id: 'admin', name: 'Administrator', status: 'active' }),
      ]),
    )
  })

  it('rejects an unsigned request with 401', async () => {
    const req = await h.request('auth.bind', 'admin.unsigned', 'seq-3', {
      mqtt_password: h.admin.mqtt_connection.mqtt_password,
    })
    const res = await sendTo(base, req, { headers: { authorization: null } })
    const answer = await readAnswer(res)
    expect(answer.status).toBe(401)
    expect(answer.reply).toMatchObject({ code: 401, message: 'relay token missing' })
  })

  it('rejects a body changed after signing with 401, and stores nothing', async () => {
    const payload = { mqtt_password: h.admin.mqtt_connection.mqtt_password }
    const req = await h.request('auth.bind', 'admin.tampered', 'seq-4', payload)
    const changed = JSON.stringify({ action: 'auth.bind', ...payload, device_info: 'changed after signing' })
    const answer = await readAnswer(await sendTo(base, req, { body: changed }))
    expect(answer.status).toBe(401)
    expect(answer.reply).toMatchObject({ code: 401, message: 'body does not match the relay token' })
    const { rows } = await h.db.query('SELECT 1 FROM client_session WHERE client_id = $1', ['admin.tampered'])
    expect(rows).toEqual([])
  })
})
