import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MemoryHistory } from './memory.ts'
import type { HistoryMessage } from './store.ts'

/**
 * History in an append-only JSON-lines file (Node): read back into memory on open, so it
 * survives restarts; a line cut short by a crash is skipped.
 */
export class FileHistory extends MemoryHistory {
  #writes: Promise<void> = Promise.resolve()

  private constructor(readonly path: string) {
    super()
  }

  static async open(path: string): Promise<FileHistory> {
    const store = new FileHistory(path)
    await mkdir(dirname(path), { recursive: true })
    let text = ''
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const line of text.split('\n')) {
      if (!line) continue
      try {
        store.remember(JSON.parse(line) as HistoryMessage)
      } catch {
        // A torn last line from a crash: the rest of the log is intact.
      }
    }
    return store
  }

  override async add(m: HistoryMessage): Promise<boolean> {
    if (!this.remember(m)) return false
    // Appends one at a time, in order: lines never interleave.
    this.#writes = this.#writes.then(() => appendFile(this.path, JSON.stringify(m) + '\n'))
    await this.#writes
    return true
  }

  override async close(): Promise<void> {
    await this.#writes
  }
}
