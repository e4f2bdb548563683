import { cursorOf, pageOf, type HistoryMessage, type HistoryPage, type HistoryStore } from './store.ts'

/** History in memory: the default, gone with the process. */
export class MemoryHistory implements HistoryStore {
  protected byId = new Map<string, HistoryMessage>()
  protected byConversation = new Map<string, HistoryMessage[]>()

  async add(m: HistoryMessage): Promise<boolean> {
    return this.remember(m)
  }

  /** Synchronous insert, newest first; shared with the file store's replay of its log. */
  protected remember(m: HistoryMessage): boolean {
    if (this.byId.has(m.msg_id)) return false
    this.byId.set(m.msg_id, m)
    const list = this.byConversation.get(m.conversation) ?? []
    const key = cursorOf(m)
    let i = 0
    while (i < list.length && cursorOf(list[i]!) > key) i++
    list.splice(i, 0, m)
    this.byConversation.set(m.conversation, list)
    return true
  }

  async page(conversation: string, opts: { before?: string | null; limit?: number } = {}): Promise<HistoryPage> {
    return pageOf(this.byConversation.get(conversation) ?? [], opts.before, opts.limit ?? 50)
  }

  async close(): Promise<void> {}
}
