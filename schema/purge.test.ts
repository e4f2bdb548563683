import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from './migrate.ts'
import { purge } from './purge.ts'
import { startPglite, type LocalPostgres } from '../local/postgres.ts'

describe('db:purge', () => {
  let pgl: LocalPostgres
  let c: pg.Client
  beforeAll(async () => {
    pgl = await startPglite()
    await migrate(pgl.url)
  })
  afterAll(async () => pgl?.close())

  it('deletes only what is past its retention: audit 180 days by default, replies 7, challenges 1 after expiry', async () => {
    c = new pg.Client({ connectionString: pgl.url })
    await c.connect()
    await c.query(`INSERT INTO employee (employee_id, name) VALUES ('e1', 'E')`)
    await c.query(
      `INSERT INTO audit_log (action, result_code, ts) VALUES ('a.old', 0, now() - interval '181 days'), ('a.kept', 0, now() - interval '179 days'), ('a.new', 0, now())`,
    )
    await c.query(`INSERT INTO request_reply (client_id, seq_id, action, body_hash, reply, created_at) VALUES
      ('c', 'old', 'x', 'h', '{}', now() - interval '8 days'), ('c', 'new', 'x', 'h', '{}', now())`)
    await c.query(`INSERT INTO auth_challenge (challenge_id, employee_id, token_hash, expires_at) VALUES
      ('ch_old', 'e1', 'h', now() - interval '2 days'), ('ch_live', 'e1', 'h', now() + interval '1 minute')`)
    await c.end()

    expect(await purge(pgl.url)).toEqual({ audit: 1, replies: 1, challenges: 1 })
    c = new pg.Client({ connectionString: pgl.url })
    await c.connect()
    const left = async (sql: string) => (await c.query(sql)).rows.map((r) => Object.values(r)[0])
    expect(await left(`SELECT action FROM audit_log ORDER BY action`)).toEqual(['a.kept', 'a.new'])
    expect(await left(`SELECT seq_id FROM request_reply`)).toEqual(['new'])
    expect(await left(`SELECT challenge_id FROM auth_challenge`)).toEqual(['ch_live'])
    await c.end()

    await expect(purge(pgl.url, { auditDays: 0, replyDays: 7, challengeDays: 1 })).rejects.toThrow(/auditDays/)
  })

  it('refuses an audit retention under 180 days before touching anything; a longer one keeps more', async () => {
    // The embedded PostgreSQL serves one connection at a time: each step opens its own.
    const query = async (sql: string) => {
      const client = new pg.Client({ connectionString: pgl.url })
      await client.connect()
      try {
        return (await client.query(sql)).rows
      } finally {
        await client.end()
      }
    }
    await query(`INSERT INTO audit_log (action, result_code, ts) VALUES ('a.200', 0, now() - interval '200 days')`)
    const count = async () => (await query(`SELECT count(*)::int AS n FROM audit_log`))[0].n as number
    const before = await count()
    await expect(purge(pgl.url, { auditDays: 179, replyDays: 7, challengeDays: 1 })).rejects.toThrow(
      'AUDIT_RETENTION_DAYS must be at least 180 (audit entries are kept 180 days), got 179',
    )
    expect(await count()).toBe(before)
    expect((await purge(pgl.url, { auditDays: 365, replyDays: 7, challengeDays: 1 })).audit).toBe(0)
    expect(await count()).toBe(before)
  })

  it('db:purge with AUDIT_RETENTION_DAYS=30 exits 2 at start, saying why', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./purge.ts', import.meta.url))],
      {
        env: { ...process.env, DATABASE_URL: pgl.url, AUDIT_RETENTION_DAYS: '30' },
        encoding: 'utf8',
      },
    )
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('db:purge: AUDIT_RETENTION_DAYS must be at least 180')
  })
})
