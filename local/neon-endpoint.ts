import { once } from 'node:events'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import type { PoolClient, QueryArrayConfig, QueryArrayResult } from 'pg'

export interface NeonEndpoint {
  url: string
  port: number
  close(): Promise<void>
}

type SqlQuery = { query: string; params: unknown[] }

const BODY_LIMIT = 10 * 1024 * 1024

// The driver parses every value itself from Postgres's text output; any parsing here would
// hand it JS values it then mangles (booleans, json, timestamps, arrays).
const rawText = { getTypeParser: () => (value: string) => value }

const ISOLATION: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
}

// Postgres error fields the driver copies onto NeonDbError (its list `hi`).
const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const

// Clients whose ROLLBACK failed: they may still be inside the transaction, so never reuse them.
const unusable = new WeakSet<PoolClient>()

/** An error that becomes a plain HTTP reply instead of a Postgres error body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Serves Neon's SQL-over-HTTP protocol (what `neon()` of @neondatabase/serverless speaks) in
 * front of any Postgres reachable by node-postgres. With PGlite pass maxConnections: 1: it has a
 * single backend session, and a pool of one also serializes every request and transaction.
 */
export async function startNeonEndpoint(opts: {
  databaseUrl: string
  host?: string | undefined
  port?: number
  maxConnections?: number | undefined
}): Promise<NeonEndpoint> {
  const host = opts.host ?? '127.0.0.1'
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.maxConnections ?? 10 })
  // An idle client losing its server must not take the process down; the next request reconnects.
  pool.on('error', (err) => console.warn(`[neon-endpoint] idle database connection lost: ${err.message}`))
  // pool.end() resolves before its connections have closed; close() waits for them so that a
  // caller may stop or drop the database right after it.
  const open = new Set<Promise<void>>()
  pool.on('connect', (client) => {
    const ended: Promise<void> = new Promise((resolve) => client.once('end', resolve)).then(
      () => void open.delete(ended),
    )
    open.add(ended)
  })

  const server = createServer((req, res) => {
    handle(pool, req, res).catch(() => res.destroy())
  })
  server.keepAliveTimeout = 30_000
  server.on('connection', (socket) => socket.setNoDelay(true))

  try {
    await once(server.listen(opts.port ?? 0, host), 'listening')
  } catch (err) {
    await pool.end()
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(
      code === 'EADDRINUSE'
        ? `port ${opts.port} is already in use`
        : `cannot listen on ${host}:${opts.port}: ${messageOf(err)}`,
      { cause: err },
    )
  }

  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}/sql`,
    port,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await closed
        await pool.end()
        await Promise.all(open)
      })()),
  }
}

async function handle(pool: pg.Pool, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'POST') throw new HttpError(405, 'only POST is supported')
    if (!req.headers['neon-connection-string']) throw new HttpError(400, 'missing Neon-Connection-String header')
    const body = await readJson(req)
    if (Array.isArray(body.queries)) {
      const queries = body.queries.map(toQuery)
      const begin = beginStatement(req)
      const results = await withClient(pool, (client) => runBatch(client, queries, begin))
      reply(res, 200, { results })
    } else {
      const query = toQuery(body)
      reply(res, 200, await withClient(pool, (client) => run(client, query)))
    }
  } catch (err) {
    if (err instanceof HttpError) reply(res, err.status, err.status === 400 ? { message: err.message } : err.message)
    else if (err instanceof pg.DatabaseError) reply(res, 400, pgErrorBody(err))
    else reply(res, 500, `internal error: ${messageOf(err)}`)
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (Number(req.headers['content-length']) > BODY_LIMIT) throw new HttpError(413, 'request body too large')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > BODY_LIMIT) throw new HttpError(413, 'request body too large')
    chunks.push(chunk)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'request body is not valid JSON')
  }
  if (typeof body !== 'object' || body === null) throw new HttpError(400, 'request body must be a JSON object')
  return body as Record<string, unknown>
}

function toQuery(value: unknown): SqlQuery {
  const { query, params = [] } = (value ?? {}) as { query?: unknown; params?: unknown }
  if (typeof query !== 'string') throw new HttpError(400, 'body needs "query" (a string) or "queries" (an array)')
  if (!Array.isArray(params)) throw new HttpError(400, '"params" must be an array')
  return { query, params }
}

function beginStatement(req: IncomingMessage): string {
  const level = req.headers['neon-batch-isolation-level']
  const parts = ['BEGIN']
  if (typeof level === 'string') {
    if (!ISOLATION[level]) throw new HttpError(400, `unknown Neon-Batch-Isolation-Level: ${level}`)
    parts.push(`ISOLATION LEVEL ${ISOLATION[level]}`)
  }
  if (req.headers['neon-batch-read-only'] === 'true') parts.push('READ ONLY')
  if (req.headers['neon-batch-deferrable'] === 'true') parts.push('DEFERRABLE')
  return parts.join(' ')
}

async function withClient<T>(pool: pg.Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw new HttpError(503, `database unavailable: ${messageOf(err)}`)
  }
  // pg emits 'error' on a dropped connection even mid-query, and the pool only listens while the
  // client is idle: unheard, that event would crash the process. The failed query reports it.
  const ignore = () => {}
  client.on('error', ignore)
  let broken: Error | undefined
  try {
    return await work(client)
  } catch (err) {
    // A Postgres error leaves the connection usable; anything else (or a failed ROLLBACK) does not.
    if (!(err instanceof pg.DatabaseError) || unusable.has(client)) broken = err as Error
    throw err
  } finally {
    client.off('error', ignore)
    client.release(broken)
  }
}

async function runBatch(client: PoolClient, queries: SqlQuery[], begin: string) {
  await client.query(begin)
  try {
    const results = []
    for (const query of queries) results.push(await run(client, query))
    await client.query('COMMIT')
    return results
  } catch (err) {
    await client.query('ROLLBACK').catch(() => unusable.add(client))
    throw err
  }
}

async function run(client: PoolClient, { query, params }: SqlQuery) {
  // Neon runs every query as an unnamed prepared statement, so several statements in one query
  // string fail there; the extended protocol makes them fail here too.
  const config: QueryArrayConfig & { queryMode: 'extended' } = {
    text: query,
    values: params,
    rowMode: 'array',
    types: rawText,
    queryMode: 'extended',
  }
  const result: QueryArrayResult = await client.query(config)
  return {
    fields: result.fields.map(({ name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format }) => ({
      name,
      tableID,
      columnID,
      dataTypeID,
      dataTypeSize,
      dataTypeModifier,
      format,
    })),
    rows: result.rows,
    command: result.command,
    rowCount: result.rowCount,
    rowAsArray: true,
  }
}

function pgErrorBody(err: pg.DatabaseError): Record<string, unknown> {
  const body: Record<string, unknown> = { message: err.message }
  for (const field of ERROR_FIELDS) if (err[field] !== undefined) body[field] = err[field]
  return body
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy()
  const json = typeof body !== 'string'
  const payload = json ? JSON.stringify(body) : body
  res.writeHead(status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    // Unread request bytes would otherwise be parsed as the next request on this connection.
    ...(status === 413 ? { connection: 'close' } : {}),
  })
  res.end(payload)
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
