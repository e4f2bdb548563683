import * as z from 'zod'
import { messageContent } from '../content.ts'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

/** Seed 002 §3.12: only members send; relayed on mchat/group/{group_id}, never stored. */
export const msgSendGroup = defineAction({
  name: 'msg.send_group',
  request: z.object({ group_id: groupId, content: messageContent }),
  reply: z.object({ msg_id: z.string(), group_id: groupId, sent_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'message',
})

/** Delivered on mchat/group/{group_id} (seed 002 §3.12). */
export const groupMessage = z.object({
  msg_id: z.string(),
  group_id: groupId,
  from_employee_id: employeeId,
  content: messageContent,
  sent_at: isoTime,
})
export type GroupMessage = z.infer<typeof groupMessage>
