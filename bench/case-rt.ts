import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { app } from '../workers/app.ts'
import { startTestDatabase } from '../test/support/db.ts'
import { countRoundTrips, roundTripTable } from '../test/support/round-trips.ts'
import { callAction, workerHarness } from '../test/support/workers.ts'
import type { BenchContext, CaseResult } from './context.ts'

/** Database round trips per action, counted exactly as workers/round-trips.test.ts counts them. */
export async function runRoundTrips(ctx: BenchContext): Promise<CaseResult> {
  ctx.log('rt: counting database round trips per action')
  const db = await startTestDatabase()
  const dir = await mkdtemp(join(tmpdir(), 'mchat-bench-rt-'))
  const counter = countRoundTrips()
  const h = await workerHarness(db, dir)
  try {
    const admin = 'admin.bench-rt'
    const password = h.admin.mqtt_connection.mqtt_password
    const bound = await callAction(app, h, 'auth.bind', admin, { mqtt_password: password })
    if (bound.reply.code !== 0) throw new Error(`admin bind failed: ${JSON.stringify(bound.reply)}`)
    const table = await roundTripTable(app, h, admin, password, counter)
    return {
      id: 'rt',
      title: 'database round trips per action',
      setup: `Each action once through the workers' Hono app (${db.kind}), counting the Neon driver's HTTP calls (queries) and how many must wait for one another (waves).`,
      measures: [],
      extra: { table },
    }
  } finally {
    counter.restore()
    await h.close()
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}
