import { fail } from './errors.ts'

/**
 * Gate SQL for conversation actions on group $6 (see middleware/admit-once.ts): the target says
 * whether the group exists, is dismissed and has the caller as a member; only a live group's
 * members are allowed.
 */
const MEMBER =
  'EXISTS (SELECT 1 FROM group_member m WHERE m.group_id = g.group_id AND m.employee_id = (SELECT employee_id FROM caller))'

export const groupMemberGate = (groupId: string) => ({
  target: `(SELECT json_build_object('dismissed', g.dismissed_at IS NOT NULL, 'member', ${MEMBER}) FROM chat_group g WHERE g.group_id = $6)`,
  allowed: `(SELECT g.dismissed_at IS NULL AND ${MEMBER} FROM chat_group g WHERE g.group_id = $6)`,
  params: [groupId],
})

export function refuseNonMember(target: { dismissed: boolean; member: boolean } | null): never {
  if (target === null) fail(404, 'group_id: no such group')
  if (target.dismissed) fail(404, 'group_id: the group was dismissed')
  fail(403, 'group_id: only members can take part in this group')
}
