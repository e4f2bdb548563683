import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { describeZodError } from '../schema/index.ts'
import { routeTable, type RouteTable } from './routes.ts'

/**
 * The route table in force. Replaced whole, never edited in place: a request keeps the route it
 * picked, so a change drops nothing.
 */
export class RouteSource {
  #table: RouteTable
  #listeners = new Set<(t: RouteTable, why: string) => void>()

  constructor(initial: RouteTable) {
    this.#table = initial
  }

  get current(): RouteTable {
    return this.#table
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
    throw new Error(`${path}: ${(err as Error).message}`)
  }
  const parsed = routeTable.safeParse(json)
  if (!parsed.success) throw new Error(`${path}: ${describeZodError(parsed.error)}`)
  return parsed.data
}

/**
 * Keeps `source` equal to the file: reloaded when it changes and on SIGHUP. A file that does not
 * parse is reported and ignored: the table in force stays.
 */
export function followRouteFile(path: string, source: RouteSource, info: (m: string) => void): () => void {
  let pending: Promise<void> = Promise.resolve()
  const reload = (why: string) => {
    // One reload at a time, in order: the last write wins.
    pending = pending.then(async () => {
      try {
        source.set(await readRouteFile(path), why)
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
