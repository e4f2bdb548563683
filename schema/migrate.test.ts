import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from './migrate.ts'
import { createRealDatabase, realServicesMissing } from '../test/support/services.ts'
import { startPglite, type LocalPostgres } from '../local/postgres.ts'

// Every file in the folder: migrations are added independently of one another (and of this test).
const MIGRATIONS = readdirSync(fileURLToPath(new URL('./migrations/', import.meta.url)))
  .filter((f) => f.endsWith('.sql'))
  .sort()
const SEED_TABLES = [
  'department',
  'employee',
  'chat_group',
  'group_member',
  'client_session',
  'audit_log',
  'auth_challenge',
  'request_reply',
]

async function tables(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  const { rows } = await c.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  )
  await c.end()
  return rows.map((r) => r.t)
}

describe('db:migrate on PGlite', () => {
  let pgl: LocalPostgres
  beforeAll(async () => {
    pgl = await startPglite()
  })
  afterAll(async () => pgl?.close())

  it('creates every seed table once and is a no-op the second time', async () => {
    expect(await migrate(pgl.url)).toEqual(MIGRATIONS)
    expect(await tables(pgl.url)).toEqual(expect.arrayContaining([...SEED_TABLES, 'schema_migrations']))
    expect(await migrate(pgl.url)).toEqual([])
  })
})

describe.skipIf(realServicesMissing('postgres'))('db:migrate on PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> }
  beforeAll(async () => {
    db = await createRealDatabase()
  })
  afterAll(async () => db?.drop())

  it('survives concurrent migrators: each migration applied exactly once', async () => {
    const runs = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)])
    expect(runs.flat().sort()).toEqual(MIGRATIONS)
    expect(await tables(db.url)).toEqual(expect.arrayContaining(SEED_TABLES))
  })

  it('enforces the roles and statuses the seed names', async () => {
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    try {
      await expect(c.query(`INSERT INTO employee (employee_id, name, role) VALUES ('x', 'X', 'root')`)).rejects.toThrow(
        /check/,
      )
      await expect(
        c.query(`INSERT INTO employee (employee_id, name, status) VALUES ('y', 'Y', 'gone')`),
      ).rejects.toThrow(/check/)
      await expect(
        c.query(`INSERT INTO group_member (group_id, employee_id, role) VALUES ('g', 'e', 'king')`),
      ).rejects.toThrow()
    } finally {
      await c.end()
    }
  })
})
