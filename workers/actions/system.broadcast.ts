import { newId, SYSTEM_NOTIFY_TOPIC } from '../../schema/index.ts'
import { defineHandler, deliver } from '../lib/action.ts'
import { notice } from '../lib/notices.ts'
import { requireOrgAdmin } from '../lib/permissions.ts'

/**
 * An org admin's announcement on mchat/system/notify, which every client subscribes to. Sensitive
 * and audited with its title and text: unlike a chat message it is addressed to everyone, and
 * what the company announced is what an audit must be able to show.
 */
export default defineHandler({
  action: 'system.broadcast',
  audit: (input, data) => ({
    params: { title: input.title, content: input.content, notify_id: data?.notify_id ?? null },
  }),
  sensitive: () => true,
  async handle({ caller, now }) {
    requireOrgAdmin(caller, 'broadcast to everyone')
    const created_at = now.toISOString()
    return { data: { notify_id: newId('ntf'), created_at } }
  },
  // Rebuilt from the reply, so a repeated request announces the same notify_id again, not a new one.
  derive: (input, data, caller) => [
    deliver(SYSTEM_NOTIFY_TOPIC, {
      ...notice('announcement', data.notify_id, data.created_at, {
        content: input.content,
        operator_id: caller.employee_id,
      }),
      notify_id: data.notify_id,
      title: input.title,
    }),
  ],
})
