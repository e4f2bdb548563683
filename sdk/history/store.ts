import type { MessageContent } from '../../schema/index.ts'

/** A message as the client keeps it: the server stores none (seed 000 §3.3). */
export interface HistoryMessage {
  msg_id: string
  /** `private:{peer employee_id}` or `group:{group_id}`. */
  conversation: string
  from_employee_id: string
  content: MessageContent
  sent_at: string
  /** The message this one replies to or quotes. */
  quote_msg_id?: string
}

export interface HistoryPage {
  messages: HistoryMessage[]
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: string | null
}

/** Where a client keeps its messages: once per msg_id, paged per conversation, newest first. */
export interface HistoryStore {
  /** Keeps the message unless its msg_id is known; true when it was new. */
  add(message: HistoryMessage): Promise<boolean>
  page(conversation: string, opts?: { before?: string | null; limit?: number }): Promise<HistoryPage>
  close(): Promise<void>
}

export const privateConversation = (peer: string) => `private:${peer}`
export const groupConversation = (groupId: string) => `group:${groupId}`

/** Sort key: time, then id, so messages with the same sent_at still have one order. */
export const cursorOf = (m: HistoryMessage) => `${m.sent_at}|${m.msg_id}`

/** Newest first, strictly before `before`, at most `limit`. */
export function pageOf(sorted: HistoryMessage[], before: string | null | undefined, limit: number): HistoryPage {
  const older = before ? sorted.filter((m) => cursorOf(m) < before) : sorted
  const messages = older.slice(0, limit)
  return { messages, next: older.length > limit ? cursorOf(messages.at(-1)!) : null }
}
