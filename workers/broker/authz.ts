import type { Handler } from 'hono'
import { authzRequest, type AuthzReply } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import { openDb } from '../lib/db.ts'
import { fail } from '../lib/errors.ts'
import { decide } from './acl.ts'

/** EMQX HTTP authorization: may this client publish or subscribe to this topic (seed 000 §5.2). */
export function authz(): Handler<AppEnv> {
  return async function authz(c) {
    const body = authzRequest.safeParse(await c.req.json().catch(() => null))
    if (!body.success) fail(400, 'authz: expected {clientid, username, topic, action}')
    const d = decide(body.data)
    if (d.result !== 'group') return c.json<AuthzReply>({ result: d.result })
    // Read at every subscribe, so a member added a moment ago may subscribe at once.
    const rows = await openDb(c.env).query(
      `SELECT 1 FROM group_member m JOIN chat_group g ON g.group_id = m.group_id JOIN employee e ON e.employee_id = m.employee_id
        WHERE m.group_id = $1 AND m.employee_id = $2 AND g.dismissed_at IS NULL AND e.status = 'active'`,
      [d.groupId, d.employeeId],
    )
    return c.json<AuthzReply>({ result: rows.length === 1 ? 'allow' : 'deny' })
  }
}
