import { mkdir } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface LocalPostgres {
  url: string
  kind: 'pglite'
  close(): Promise<void>
}

/**
 * Starts PGlite (data kept in dataDir when given, else in memory) behind pglite-socket on
 * 127.0.0.1 and an ephemeral port (or `port`).
 *
 * PGlite is a single backend session: clients must use ONE connection (e.g. pg.Pool max 1).
 * The socket server is left at its default of one connection so a second client is refused
 * instead of silently interleaving with the first one's extended-protocol messages.
 */
export async function startPglite(opts: { dataDir?: string; port?: number } = {}): Promise<LocalPostgres> {
  // PGlite creates the data directory itself but not its parents.
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true })
  const db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {})
  const host = '127.0.0.1'
  const server = new PGLiteSocketServer({ db, host, port: opts.port ?? 0 })
  try {
    await server.start()
  } catch (err) {
    await server.stop().catch(() => {})
    await db.close()
    throw listenError(err, opts.port)
  }
  // The port is private on the server; getServerConn() is the public way to learn the OS-assigned one.
  const port = Number(server.getServerConn().split(':').pop())

  let closing: Promise<void> | undefined
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    kind: 'pglite',
    close: () =>
      (closing ??= (async () => {
        await server.stop()
        // stop() detaches handlers without awaiting them; a detach may still ROLLBACK an open
        // transaction, which must reach PGlite before it is closed.
        await nextTurn()
        await nextTurn()
        await db.close()
      })()),
  }
}

function listenError(err: unknown, port: number | undefined): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EADDRINUSE') return new Error(`port ${port} is already in use`)
  return err instanceof Error ? err : new Error(String(err))
}
