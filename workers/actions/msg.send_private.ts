import { inboxTopic, newId, type PrivateMessage } from '../../schema/index.ts'
import { defineHandler, deliver } from '../lib/action.ts'
import { fail } from '../lib/errors.ts'

/**
 * Seed 002 §3.11: relayed to the recipient's inbox, never stored (seed 000 §3.3). Only the reply
 * (msg_id, sent_at) is kept, so a repeated request yields the same msg_id; its delivery is rebuilt
 * from the identical request body.
 */
export default defineHandler({
  action: 'msg.send_private',
  async load(input, sql) {
    const rows = (await sql.query('SELECT status FROM employee WHERE employee_id = $1', [input.to_employee_id])) as Array<{ status: string }>
    return rows[0]?.status ?? null
  },
  async handle({ input, loaded: recipientStatus, now }) {
    if (recipientStatus === null) fail(404, 'to_employee_id: no such employee')
    if (recipientStatus !== 'active') fail(403, 'to_employee_id: the employee is disabled')
    return { data: { msg_id: newId('msg'), to_employee_id: input.to_employee_id, sent_at: now.toISOString() } }
  },
  derive(input, data, caller) {
    const message: PrivateMessage = {
      msg_id: data.msg_id,
      type: 'private',
      from_employee_id: caller.employee_id,
      to_employee_id: data.to_employee_id,
      content: input.content,
      sent_at: data.sent_at,
    }
    return [deliver(inboxTopic(data.to_employee_id), message)]
  },
})
