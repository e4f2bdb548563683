import { inboxTopic, newId, type PrivateMessage } from '../../schema/index.ts'
import { defineOneTrip, deliver } from '../lib/action.ts'
import { agentFollowUp, agentReplay, mentionTokens, privateAgentsSql, textOf } from '../lib/agents.ts'
import { fail } from '../lib/errors.ts'

/**
 * Seed 002 §3.11: relayed to the recipient's inbox and, as a copy, to the sender's, never stored (seed 000 §3.3). Only the reply
 * (msg_id, sent_at) is kept, so a repeated request yields the same msg_id; its delivery is rebuilt
 * from the identical request body. One database round trip, which also finds the AI agents the
 * message reaches (the recipient, those @-mentioned): they are called once it is delivered, and
 * answer into the sender's inbox (docs/agents.md).
 */
export default defineOneTrip({
  action: 'msg.send_private',
  prepare: (input, now) => ({ msg_id: newId('msg'), to_employee_id: input.to_employee_id, sent_at: now.toISOString() }),
  gate: (input) => ({
    target: '(SELECT status FROM employee WHERE employee_id = $6)',
    allowed: "(SELECT status = 'active' FROM employee WHERE employee_id = $6)",
    params: [input.to_employee_id, mentionTokens(textOf(input.content))],
    extra: privateAgentsSql,
  }),
  refuse(status: string | null) {
    if (status === null) fail(404, 'to_employee_id: no such employee')
    fail(403, 'to_employee_id: the employee is disabled')
  },
  *derive(input, data, caller, facts) {
    const message: PrivateMessage = {
      msg_id: data.msg_id,
      type: 'private',
      from_employee_id: caller.employee_id,
      to_employee_id: data.to_employee_id,
      content: input.content,
      sent_at: data.sent_at,
      ...(input.quote_msg_id !== undefined && { quote_msg_id: input.quote_msg_id }),
    }
    yield deliver(inboxTopic(data.to_employee_id), message)
    // The sender's copy: every device of the sender keeps the conversation (docs/actions.md).
    if (caller.employee_id !== data.to_employee_id) yield deliver(inboxTopic(caller.employee_id), message)
    yield* agentReplay({ type: 'private', to: data.to_employee_id }, caller, data, input.content, facts)
  },
  followUp: (ctx) => agentFollowUp(ctx, { type: 'private', to: ctx.input.to_employee_id }),
})
