import * as z from 'zod'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

const messageId = z.string().min(1).max(64)

/** Seed 002 §3.13: private receipts go to the peer's inbox, group receipts to the group topic. */
export const msgReadAck = defineAction({
  name: 'msg.read_ack',
  request: z.discriminatedUnion('conversation_type', [
    z.object({ msg_id: messageId, conversation_type: z.literal('private'), peer_employee_id: employeeId }),
    z.object({ msg_id: messageId, conversation_type: z.literal('group'), group_id: groupId }),
  ]),
  reply: z.object({ msg_id: z.string(), read_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'message',
})

/** The forwarded receipt: `type` tells it apart from a message on the same topic. */
export const readReceipt = z.object({
  type: z.literal('read_ack'),
  msg_id: z.string(),
  conversation_type: z.enum(['private', 'group']),
  group_id: groupId.optional(),
  reader_id: employeeId,
  read_at: isoTime,
})
export type ReadReceipt = z.infer<typeof readReceipt>
