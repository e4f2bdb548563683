import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { neon, neonConfig } from '@neondatabase/serverless'
import type { NeonQueryFunction } from '@neondatabase/serverless'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createRealDatabase, realServicesMissing } from '../test/support/services.ts'
import { startNeonEndpoint } from './neon-endpoint.ts'
import type { NeonEndpoint } from './neon-endpoint.ts'
import { startPglite } from './postgres.ts'

// The driver insists on user, password, host and database; the endpoint ignores them.
const CONNECTION_STRING = 'postgres://u:p@127.0.0.1/db'

interface Backend {
  databaseUrl: string
  maxConnections?: number
  close(): Promise<void>
}

/** The same driver-level cases against any database behind the endpoint. */
function driverSuite(startBackend: () => Promise<Backend>): void {
  let backend: Backend
  let ep: NeonEndpoint
  let sql: NeonQueryFunction<false, false>

  beforeAll(async () => {
    backend = await startBackend()
    ep = await startNeonEndpoint({ databaseUrl: backend.databaseUrl, maxConnections: backend.maxConnections })
    neonConfig.fetchEndpoint = ep.url
    sql = neon(CONNECTION_STRING)
    await sql.query('CREATE TABLE items (id int PRIMARY KEY, name text UNIQUE, doc jsonb, tags text[], at timestamptz)')
  })

  afterAll(async () => {
    await ep?.close()
    await backend?.close()
  })

  it('returns booleans as booleans', async () => {
    expect(await sql.query('SELECT true AS t, false AS f, $1::boolean AS p', [false])).toEqual([
      { t: true, f: false, p: false },
    ])
  })

  it('returns int, bigint and numeric like node-postgres would', async () => {
    const [row] = await sql.query(
      'SELECT 42::int AS i, 9007199254740993::bigint AS b, 12.50::numeric AS n, $1::int + 1 AS p',
      [41],
    )
    expect(row).toEqual({ i: 42, b: '9007199254740993', n: '12.50', p: 42 })
  })

  it('returns json and jsonb as objects', async () => {
    const [row] = await sql.query(`SELECT '{"a":1,"b":[true,null]}'::json AS j, '{"x":{"y":"z"}}'::jsonb AS jb`)
    expect(row).toEqual({ j: { a: 1, b: [true, null] }, jb: { x: { y: 'z' } } })
  })

  it('round-trips timestamptz', async () => {
    const at = new Date('2024-02-29T23:59:58.123Z')
    const [row] = await sql.query('SELECT $1::timestamptz AS at', [at])
    expect(row!.at).toBeInstanceOf(Date)
    expect((row!.at as Date).getTime()).toBe(at.getTime())
  })

  it('returns text[] as arrays, from literals and from params', async () => {
    const [row] = await sql.query(`SELECT ARRAY['a', 'b,c', NULL]::text[] AS lit, $1::text[] AS par`, [['x', 'y "z"']])
    expect(row).toEqual({ lit: ['a', 'b,c', null], par: ['x', 'y "z"'] })
  })

  it('keeps NULLs as null, in columns and params', async () => {
    expect(await sql.query('SELECT NULL::int AS n, $1::text AS p', [null])).toEqual([{ n: null, p: null }])
  })

  it('round-trips bytea', async () => {
    const bytes = Buffer.from([0, 1, 2, 254, 255])
    const [row] = await sql.query('SELECT $1::bytea AS b', [bytes])
    expect(Buffer.compare(row!.b as Buffer, bytes)).toBe(0)
  })

  it('accepts a JSON param and stores it', async () => {
    const doc = { k: 'v', n: [1, 2], nested: { ok: true } }
    await sql.query('INSERT INTO items (id, name, doc, tags, at) VALUES ($1, $2, $3, $4, now())', [
      1,
      'one',
      doc,
      ['red', 'blue'],
    ])
    const [row] = await sql.query(`SELECT doc, doc->>'k' AS k, tags FROM items WHERE id = $1`, [1])
    expect(row).toEqual({ doc, k: 'v', tags: ['red', 'blue'] })
  })

  it('gives rowCount, command and fields with fullResults', async () => {
    const ins = await sql.query('INSERT INTO items (id, name) VALUES ($1, $2), ($3, $4)', [10, 'ten', 11, 'eleven'], {
      fullResults: true,
    })
    expect(ins).toMatchObject({ command: 'INSERT', rowCount: 2, rows: [] })
    const sel = await sql.query('SELECT id, name FROM items WHERE id >= 10 ORDER BY id', [], {
      fullResults: true,
      arrayMode: true,
    })
    expect(sel).toMatchObject({
      command: 'SELECT',
      rowCount: 2,
      rows: [
        [10, 'ten'],
        [11, 'eleven'],
      ],
    })
    expect(sel.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['id', 23],
      ['name', 25],
    ])
  })

  it('commits a batch transaction', async () => {
    const [, , count] = await sql.transaction([
      sql.query('INSERT INTO items (id, name) VALUES (20, $1)', ['twenty']),
      sql.query('INSERT INTO items (id, name) VALUES (21, $1)', ['twenty-one']),
      sql.query('SELECT count(*)::int AS n FROM items WHERE id IN (20, 21)'),
    ])
    expect(count).toEqual([{ n: 2 }])
    expect(await sql.query('SELECT name FROM items WHERE id IN (20, 21) ORDER BY id')).toEqual([
      { name: 'twenty' },
      { name: 'twenty-one' },
    ])
  })

  it('rolls back a batch whose second query fails', async () => {
    const failing = sql.transaction([
      sql.query('INSERT INTO items (id, name) VALUES (30, $1)', ['thirty']),
      sql.query('SELECT 1 / 0'),
    ])
    await expect(failing).rejects.toMatchObject({ name: 'NeonDbError', code: '22012' })
    expect(await sql.query('SELECT id FROM items WHERE id = 30')).toEqual([])
  })

  it('honours the batch isolation level and read-only flag', async () => {
    const [isoRows, roRows] = await sql.transaction(
      [
        sql.query(`SELECT current_setting('transaction_isolation') AS v`),
        sql.query(`SELECT current_setting('transaction_read_only') AS v`),
      ],
      { isolationLevel: 'Serializable', readOnly: true },
    )
    expect([isoRows?.[0], roRows?.[0]]).toEqual([{ v: 'serializable' }, { v: 'on' }])
  })

  it('surfaces a unique violation as NeonDbError code 23505', async () => {
    await sql.query('INSERT INTO items (id, name) VALUES (40, $1)', ['dup'])
    const err = await sql.query('INSERT INTO items (id, name) VALUES (41, $1)', ['dup']).catch((e: unknown) => e)
    expect(err).toMatchObject({
      name: 'NeonDbError',
      code: '23505',
      constraint: 'items_name_key',
      table: 'items',
      severity: 'ERROR',
    })
  })

  it('rejects a syntax error instead of hanging', async () => {
    await expect(sql.query('SELEC 1')).rejects.toMatchObject({ code: '42601', position: '1' })
    expect(await sql.query('SELECT 1 AS still_works')).toEqual([{ still_works: 1 }])
  })

  it('rejects several statements in one query, as Neon does', async () => {
    await expect(sql.query('SELECT 1; SELECT 2')).rejects.toMatchObject({ code: '42601' })
  })

  it('keeps concurrent transactions apart', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => 100 + i)
    await Promise.all(
      ids.map((id) =>
        sql
          .transaction([
            sql.query('INSERT INTO items (id, name) VALUES ($1, $2)', [id, `n${id}`]),
            sql.query('UPDATE items SET doc = $2 WHERE id = $1', [id, { id }]),
            ...(id % 3 === 0 ? [sql.query('SELECT 1 / 0')] : []),
          ])
          .catch(() => 'rolled back'),
      ),
    )
    const rows = await sql.query('SELECT id, doc FROM items WHERE id >= 100 ORDER BY id')
    expect(rows).toEqual(ids.filter((id) => id % 3 !== 0).map((id) => ({ id, doc: { id } })))
  })
}

describe('neon endpoint on PGlite', () => {
  driverSuite(async () => {
    const pglite = await startPglite()
    return { databaseUrl: pglite.url, maxConnections: 1, close: () => pglite.close() }
  })
})

describe.skipIf(realServicesMissing('postgres'))('neon endpoint on the real PostgreSQL', () => {
  driverSuite(async () => {
    const db = await createRealDatabase('mchat_neon_ep')
    return { databaseUrl: db.url, close: () => db.drop() }
  })
})

describe('neon endpoint protocol edges', () => {
  let pglite: Awaited<ReturnType<typeof startPglite>>
  let ep: NeonEndpoint
  const headers = { 'content-type': 'application/json', 'neon-connection-string': CONNECTION_STRING }

  beforeAll(async () => {
    pglite = await startPglite()
    ep = await startNeonEndpoint({ databaseUrl: pglite.url, maxConnections: 1 })
  })

  afterAll(async () => {
    await ep?.close()
    await pglite?.close()
  })

  const post = (body: string, extra: Record<string, string> = {}) =>
    fetch(ep.url, { method: 'POST', body, headers: { ...headers, ...extra } })

  it('answers a raw request with raw text rows', async () => {
    const res = await post(JSON.stringify({ query: 'SELECT $1::int AS n, true AS b, NULL AS z', params: ['7'] }))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      rows: [['7', 't', null]],
      command: 'SELECT',
      rowCount: 1,
      rowAsArray: true,
    })
  })

  it('requires the Neon-Connection-String header', async () => {
    const res = await fetch(ep.url, { method: 'POST', body: JSON.stringify({ query: 'SELECT 1' }) })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/Neon-Connection-String/) })
  })

  it('answers 400 to bad JSON and to a body without query or queries', async () => {
    for (const body of ['{not json', '[]', '{"sql":"SELECT 1"}', '{"queries":[{"params":[]}]}']) {
      const res = await post(body)
      expect(res.status, body).toBe(400)
      expect((await res.json()).message, body).toEqual(expect.any(String))
    }
  })

  it('answers 400 to an unknown isolation level', async () => {
    const res = await post(JSON.stringify({ queries: [{ query: 'SELECT 1', params: [] }] }), {
      'neon-batch-isolation-level': 'Chaos',
    })
    expect(res.status).toBe(400)
  })

  it('answers 413 to a body over 10 MB', async () => {
    const res = await post(JSON.stringify({ query: 'SELECT $1::text', params: ['x'.repeat(11 * 1024 * 1024)] }))
    expect(res.status).toBe(413)
    expect((await post(JSON.stringify({ query: 'SELECT 1', params: [] }))).status).toBe(200)
  })

  it('rejects a taken port with a one-line message', async () => {
    await expect(startNeonEndpoint({ databaseUrl: pglite.url, port: ep.port })).rejects.toThrow(
      `port ${ep.port} is already in use`,
    )
  })

  it('answers 503 when the database cannot be reached, and keeps running', async () => {
    const deadPort = await freePort()
    const down = await startNeonEndpoint({ databaseUrl: `postgres://postgres@127.0.0.1:${deadPort}/postgres` })
    try {
      neonConfig.fetchEndpoint = down.url
      const err = await neon(CONNECTION_STRING)
        .query('SELECT 1')
        .catch((e: unknown) => e)
      expect(String((err as Error).message)).toMatch(/HTTP status 503.*database unavailable/)
    } finally {
      await down.close()
    }
  })
})

describe('PGlite with a data directory', () => {
  it('keeps a table across close() and a new startPglite(), leaving no open handles', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mchat-pglite-'))
    const before = openSockets()
    try {
      let pglite = await startPglite({ dataDir })
      let ep = await startNeonEndpoint({ databaseUrl: pglite.url, maxConnections: 1 })
      neonConfig.fetchEndpoint = ep.url
      await neon(CONNECTION_STRING).query('CREATE TABLE kept (v text)')
      await neon(CONNECTION_STRING).query('INSERT INTO kept VALUES ($1)', ['survives'])
      await ep.close()
      // Only PGlite's listening socket may remain: the endpoint's server, keep-alive and pool sockets are gone.
      await expect.poll(openSockets, { timeout: 3000 }).toBe(before + 1)
      await pglite.close()
      await expect.poll(openSockets, { timeout: 3000 }).toBe(before)

      const blocker = createServer()
      const takenPort = await listen(blocker)
      await expect(startPglite({ dataDir, port: takenPort })).rejects.toThrow(`port ${takenPort} is already in use`)
      await new Promise((resolve) => blocker.close(resolve))

      pglite = await startPglite({ dataDir })
      ep = await startNeonEndpoint({ databaseUrl: pglite.url, maxConnections: 1 })
      neonConfig.fetchEndpoint = ep.url
      expect(await neon(CONNECTION_STRING).query('SELECT v FROM kept')).toEqual([{ v: 'survives' }])
      await ep.close()
      // Only PGlite's listening socket may remain: the endpoint's server, keep-alive and pool sockets are gone.
      await expect.poll(openSockets, { timeout: 3000 }).toBe(before + 1)
      await pglite.close()
      await expect.poll(openSockets, { timeout: 3000 }).toBe(before)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

async function freePort(): Promise<number> {
  const server = createServer()
  const port = await listen(server)
  await new Promise((resolve) => server.close(resolve))
  return port
}
