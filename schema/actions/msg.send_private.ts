import * as z from 'zod'
import { agentOutcome, contextMessages } from '../agents.ts'
import { messageContent } from '../content.ts'
import { employeeId, isoTime, msgId } from '../ids.ts'
import { defineAction } from './define.ts'

export const msgSendPrivate = defineAction({
  name: 'msg.send_private',
  // context_messages only go to AI agents the message triggers (seed 000 §3.4): never delivered or stored.
  request: z.object({
    to_employee_id: employeeId,
    content: messageContent,
    context_messages: contextMessages.optional(),
    /** The message this one replies to or quotes; carried to the delivery, never looked up. */
    quote_msg_id: msgId.optional(),
  }),
  // `agents`: what became of each AI agent the message triggered (docs/agents.md); absent when none.
  reply: z.object({
    msg_id: z.string(),
    to_employee_id: employeeId,
    sent_at: isoTime,
    agents: z.array(agentOutcome).optional(),
  }),
  session: 'required',
  effect: 'write',
  limit: 'message',
})

/**
 * Delivered on mchat/inbox/{to_employee_id} (seed 002 §3.11), and as the sender's copy on
 * mchat/inbox/{from_employee_id} for the sender's other devices (docs/actions.md). Never stored
 * server-side.
 */
export const privateMessage = z.object({
  msg_id: z.string(),
  type: z.literal('private'),
  from_employee_id: employeeId,
  to_employee_id: employeeId,
  content: messageContent,
  sent_at: isoTime,
  quote_msg_id: msgId.optional(),
})
export type PrivateMessage = z.infer<typeof privateMessage>
