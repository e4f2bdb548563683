import { cursorOf, type HistoryMessage, type HistoryPage, type HistoryStore } from './store.ts'

const STORE = 'messages'
const BY_CONVERSATION = 'by_conversation'

type Row = HistoryMessage & { cursor: string }

const done = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })

/** History in the browser's IndexedDB: one record per msg_id, indexed by conversation and time. */
export class IndexedDbHistory implements HistoryStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = 'mchat-history', factory: IDBFactory = indexedDB): Promise<IndexedDbHistory> {
    const req = factory.open(name, 1)
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'msg_id' })
      store.createIndex(BY_CONVERSATION, ['conversation', 'cursor'])
    }
    return new IndexedDbHistory(await done(req))
  }

  add(m: HistoryMessage): Promise<boolean> {
    const tx = this.db.transaction(STORE, 'readwrite')
    const row: Row = { ...m, cursor: cursorOf(m) }
    // add() fails on an existing key: that is the de-duplication, atomically.
    const req = tx.objectStore(STORE).add(row)
    return new Promise((resolve, reject) => {
      req.onerror = (e) => {
        if (req.error?.name === 'ConstraintError') {
          e.preventDefault()
          resolve(false)
        } else reject(req.error)
      }
      tx.oncomplete = () => resolve(true)
      tx.onabort = () => (req.error?.name === 'ConstraintError' ? resolve(false) : reject(tx.error))
    })
  }

  page(conversation: string, opts: { before?: string | null; limit?: number } = {}): Promise<HistoryPage> {
    const limit = opts.limit ?? 50
    const upper = opts.before ?? '\uffff'
    const range = IDBKeyRange.bound([conversation, ''], [conversation, upper], false, true)
    const index = this.db.transaction(STORE).objectStore(STORE).index(BY_CONVERSATION)
    const req = index.openCursor(range, 'prev')
    const messages: HistoryMessage[] = []
    return new Promise((resolve, reject) => {
      req.onerror = () => reject(req.error)
      req.onsuccess = () => {
        const cursor = req.result
        if (!cursor || messages.length === limit) {
          resolve({ messages, next: cursor && messages.length === limit ? cursorOf(messages.at(-1)!) : null })
          return
        }
        const { cursor: _c, ...m } = cursor.value as Row
        messages.push(m)
        cursor.continue()
      }
    })
  }

  async close(): Promise<void> {
    this.db.close()
  }
}
