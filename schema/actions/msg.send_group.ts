import * as z from 'zod'
import { agentOutcome, contextMessages } from '../agents.ts'
import { messageContent } from '../content.ts'
import { employeeId, groupId, isoTime, msgId } from '../ids.ts'
import { defineAction } from './define.ts'

/** Seed 002 §3.12: only members send; relayed on mchat/group/{group_id}, never stored. */
export const msgSendGroup = defineAction({
  name: 'msg.send_group',
  // context_messages only go to AI agents the message triggers (seed 000 §3.4): never delivered or stored.
  request: z.object({
    group_id: groupId,
    content: messageContent,
    context_messages: contextMessages.optional(),
    /** The message this one replies to or quotes; carried to the delivery, never looked up. */
    quote_msg_id: msgId.optional(),
  }),
  // `agents`: what became of each AI agent the message triggered (docs/agents.md); absent when none.
  reply: z.object({
    msg_id: z.string(),
    group_id: groupId,
    sent_at: isoTime,
    agents: z.array(agentOutcome).optional(),
  }),
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
  quote_msg_id: msgId.optional(),
})
export type GroupMessage = z.infer<typeof groupMessage>
