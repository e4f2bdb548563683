import { groupTopic, newId, type GroupMessage } from '../../schema/index.ts'
import { defineOneTrip, deliver } from '../lib/action.ts'
import { groupMemberGate, refuseNonMember } from '../lib/membership.ts'

/**
 * Seed 002 §3.12: only members of a live group send; the message goes out once on
 * mchat/group/{group_id} (the broker fans out) and is never stored. One database round trip.
 */
export default defineOneTrip({
  action: 'msg.send_group',
  prepare: (input, now) => ({ msg_id: newId('msg'), group_id: input.group_id, sent_at: now.toISOString() }),
  gate: (input) => groupMemberGate(input.group_id),
  refuse: refuseNonMember,
  derive(input, data, caller) {
    const message: GroupMessage = {
      msg_id: data.msg_id,
      group_id: data.group_id,
      from_employee_id: caller.employee_id,
      content: input.content,
      sent_at: data.sent_at,
    }
    return [deliver(groupTopic(data.group_id), message)]
  },
})
