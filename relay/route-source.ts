import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { describeZodError, OPS_ROUTES_TOPIC } from '../schema/index.ts'
import { routeTable, type RouteTable } from './routes.ts'

/**
 * The route table in force. Replaced whole, never edited in place: a request keeps the route it
 * picked, so a change drops nothing.
 */
export class RouteSource {
  #table: RouteTable
  #listeners = new Set<(t: RouteTable, why: string) => void>()
  // What the table returns to when the ops topic is cleared: the file as last read, or the start table.
  #fallback: RouteTable
  #held = false

  constructor(initial: RouteTable) {
    this.#table = initial
    this.#fallback = initial
  }

  get current(): RouteTable {
    return this.#table
  }

  /**
   * The retained ops topic holds a table (docs/routes.md): it is in force, and the routes file
   * waits. A table equal to the one in force (a relay's own publication coming back) changes nothing.
   */
  hold(table: RouteTable, why: string): void {
    this.#held = true
    if (canonical(table) !== canonical(this.#table)) this.set(table, why)
  }

  /** The ops topic was cleared: back to the file (or the table the relay started with). */
  release(why: string): void {
    if (!this.#held) return
    this.#held = false
    this.set(this.#fallback, why)
  }

  get held(): boolean {
    return this.#held
  }

  /** A table from the routes file: in force unless the ops topic holds one; false when it waits. */
  offer(table: RouteTable, why: string): boolean {
    this.#fallback = table
    if (this.#held) return false
    this.set(table, why)
    return true
  }

  set(table: RouteTable, why: string): void {
    this.#table = table
    for (const l of this.#listeners) l(table, why)
  }

  onChange(listener: (t: RouteTable, why: string) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}

/** Parses a routes file; the error names the file and the first bad field. */
export async function readRouteFile(path: string): Promise<RouteTable> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err })
  }
  const parsed = routeTable.safeParse(json)
  if (!parsed.success) throw new Error(`${path}: ${describeZodError(parsed.error)}`)
  return parsed.data
}

/**
 * Keeps `source` equal to the file: reloaded when it changes and on SIGHUP. A file that does not
 * parse is reported and ignored: the table in force stays. While the ops topic holds a table the
 * file is still read, so clearing the topic returns to its latest content.
 */
export function followRouteFile(path: string, source: RouteSource, info: (m: string) => void): () => void {
  let pending: Promise<void> = Promise.resolve()
  const reload = (why: string) => {
    // One reload at a time, in order: the last write wins.
    pending = pending.then(async () => {
      try {
        if (!source.offer(await readRouteFile(path), why))
          info(
            `routes file read (${why}) but not applied: the table on ${OPS_ROUTES_TOPIC} is in force until it is cleared`,
          )
      } catch (err) {
        info(`routes not reloaded (${why}): ${(err as Error).message}`)
      }
    })
  }
  let watcher: FSWatcher | undefined
  let stopped = false
  let retry: ReturnType<typeof setTimeout> | undefined
  const startWatching = () => {
    watcher?.close()
    if (stopped) return
    try {
      // Editors replace files by rename: watch again after each event so the new inode is followed.
      watcher = watch(path, () => {
        reload('file changed')
        startWatching()
      })
      watcher.on('error', (err) => info(`watching ${path}: ${err.message}`))
    } catch {
      // Mid-replacement the path may not exist for a moment.
      retry = setTimeout(startWatching, 100)
    }
  }
  startWatching()
  const onHup = () => reload('SIGHUP')
  process.on('SIGHUP', onHup)
  return () => {
    stopped = true
    clearTimeout(retry)
    watcher?.close()
    process.off('SIGHUP', onHup)
  }
}

/** Key order does not make two tables different. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  )
}
