import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { startTestDatabase, type TestDatabase } from './db.ts'
import { callAction, workerHarness, type WorkerHarness } from './workers.ts'
import { app } from '../../workers/app.ts'

export interface Suite {
  h: WorkerHarness
  /** A client id bound as the org admin. */
  admin: string
  adminPassword: string
}

/** One migrated database, a worker harness and a bound admin client for a test file. */
export function workerSuite(): Suite {
  const suite = {} as Suite
  let db: TestDatabase
  let dir: string
  beforeAll(async () => {
    db = await startTestDatabase()
    dir = await mkdtemp(join(tmpdir(), 'mchat-w-'))
    const h = await workerHarness(db, dir)
    suite.h = h
    suite.admin = `admin.${Math.random().toString(36).slice(2, 8)}`
    suite.adminPassword = h.admin.mqtt_connection.mqtt_password
    const bound = await callAction(app, h, 'auth.bind', suite.admin, { mqtt_password: suite.adminPassword })
    if (bound.reply.code !== 0) throw new Error(`admin bind failed: ${JSON.stringify(bound.reply)}`)
  })
  afterAll(async () => {
    await suite.h?.db.end()
    await suite.h?.close()
    await db?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })
  return suite
}
