import { groupTopic, newId, type GroupMessage } from '../../schema/index.ts'
import { defineOneTrip, deliver } from '../lib/action.ts'
import { agentFollowUp, agentReplay, groupAgentsSql } from '../lib/agents.ts'
import { groupMemberGate, refuseNonMember } from '../lib/membership.ts'

/**
 * Seed 002 §3.12: only members of a live group send; the message goes out once on
 * mchat/group/{group_id} (the broker fans out) and is never stored. One database round trip,
 * which also finds the group's AI agents: those the message triggers (@-mention, keyword) are
 * called once it is delivered, and answer into the group (docs/agents.md).
 */
export default defineOneTrip({
  action: 'msg.send_group',
  prepare: (input, now) => ({ msg_id: newId('msg'), group_id: input.group_id, sent_at: now.toISOString() }),
  gate: (input) => ({ ...groupMemberGate(input.group_id), extra: groupAgentsSql }),
  refuse: refuseNonMember,
  *derive(input, data, caller, facts) {
    const message: GroupMessage = {
      msg_id: data.msg_id,
      group_id: data.group_id,
      from_employee_id: caller.employee_id,
      content: input.content,
      sent_at: data.sent_at,
      ...(input.quote_msg_id !== undefined && { quote_msg_id: input.quote_msg_id }),
    }
    yield deliver(groupTopic(data.group_id), message)
    yield* agentReplay({ type: 'group', group_id: data.group_id }, caller, data, input.content, facts)
  },
  followUp: (ctx) => agentFollowUp(ctx, { type: 'group', group_id: ctx.input.group_id }),
})
