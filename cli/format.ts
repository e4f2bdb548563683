import type { MessageContent, ReadReceipt, SystemNotice } from '../schema/index.ts'
import type { HistoryMessage, Presence } from '../sdk/index.ts'

const time = (iso: string) => iso.slice(11, 19)

export function contentText(c: MessageContent): string {
  if (typeof c === 'string') return c
  if (c.type === 'text') return typeof c.body === 'string' ? c.body : c.body.text
  if (c.type === 'image') return `[image] ${c.body.url}`
  return `[file] ${c.body.name} ${c.body.url}`
}

export const formatMessage = (m: HistoryMessage) =>
  `[${time(m.sent_at)}] ${m.conversation} ${m.from_employee_id}: ${contentText(m.content)}`
export const formatNotice = (n: SystemNotice) =>
  `[${time(n.created_at)}] notice ${n.type} ${n.title} ${JSON.stringify(n.body)}`
export const formatReceipt = (r: ReadReceipt) =>
  `[${time(r.read_at)}] read ${r.msg_id} by ${r.reader_id}${r.group_id ? ` in ${r.group_id}` : ''}`
export const formatPresence = (p: Presence) => `[${time(p.updated_at)}] ${p.employee_id} is ${p.status}`
