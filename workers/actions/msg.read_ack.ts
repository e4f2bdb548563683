import { groupTopic, inboxTopic, type ReadReceipt } from '../../schema/index.ts'
import { defineOneTrip, deliver } from '../lib/action.ts'
import { fail } from '../lib/errors.ts'
import { groupMemberGate, refuseNonMember } from '../lib/membership.ts'

/**
 * Seed 002 §3.13: a private receipt goes to the peer's inbox, a group receipt to the group's
 * topic (members only). One database round trip; a repeat answers with the same read_at.
 */
export default defineOneTrip({
  action: 'msg.read_ack',
  prepare: (input, now) => ({ msg_id: input.msg_id, read_at: now.toISOString() }),
  gate: (input) =>
    input.conversation_type === 'group'
      ? groupMemberGate(input.group_id)
      : {
          target: '(SELECT true FROM employee WHERE employee_id = $6)',
          allowed: '(SELECT true FROM employee WHERE employee_id = $6)',
          params: [input.peer_employee_id],
        },
  refuse(target, input) {
    if (input.conversation_type === 'group') refuseNonMember(target)
    fail(404, 'peer_employee_id: no such employee')
  },
  derive(input, data, caller) {
    const receipt: ReadReceipt = {
      type: 'read_ack',
      msg_id: data.msg_id,
      conversation_type: input.conversation_type,
      ...(input.conversation_type === 'group' ? { group_id: input.group_id } : {}),
      reader_id: caller.employee_id,
      read_at: data.read_at,
    }
    const topic = input.conversation_type === 'group' ? groupTopic(input.group_id) : inboxTopic(input.peer_employee_id)
    return [deliver(topic, receipt)]
  },
})
