import type { Caller } from '../env.ts'
import type { Sql } from './db.ts'
import { fail } from './errors.ts'

/** Org admins manage employees and departments (the matrix is in docs/actions.md#who-may-do-what). */
export function requireOrgAdmin(caller: Caller, what: string): void {
  if (caller.role !== 'admin') fail(403, `only org admins can ${what}`)
}

export type GroupRole = 'owner' | 'admin' | 'member'

/** A group as the group.* actions load it: its members with their roles. */
export interface LoadedGroup {
  name: string
  dismissed: boolean
  members: Record<string, GroupRole>
}

/** SQL for one group with its members, for a `load`. */
export const GROUP_SQL = `SELECT g.name, g.dismissed_at IS NOT NULL AS dismissed,
    (SELECT coalesce(json_object_agg(m.employee_id, m.role), '{}') FROM group_member m WHERE m.group_id = g.group_id) AS members
   FROM chat_group g WHERE g.group_id = $1`

/**
 * The first write of a transaction that changes a group: locks the group's row, so changes to
 * one group run one at a time, and refuses (404) if it was dismissed since it was read.
 */
export const lockLiveGroup = (sql: Sql, groupId: string) =>
  sql.query(
    `SELECT mchat_check((SELECT dismissed_at IS NULL FROM chat_group WHERE group_id = $1 FOR UPDATE), 'group_gone')`,
    [groupId],
  )

/** The group, or 404 when it does not exist or was dismissed. */
export function liveGroup(group: LoadedGroup | null): LoadedGroup {
  if (!group) fail(404, 'group_id: no such group')
  if (group.dismissed) fail(404, 'group_id: the group was dismissed')
  return group
}

/** Group owner/admins (group_member.role) and org admins manage a group. */
export function canManageGroup(caller: Caller, group: LoadedGroup): boolean {
  const role = group.members[caller.employee_id]
  return caller.role === 'admin' || role === 'owner' || role === 'admin'
}

export function requireGroupManager(caller: Caller, group: LoadedGroup, what: string): void {
  if (!canManageGroup(caller, group)) fail(403, `only the group's owner or admins, or org admins, can ${what}`)
}

/**
 * The employees a request names, checked in one read: unknown ids are 404, disabled ones 403,
 * each naming the first few offenders.
 */
export const EMPLOYEE_STATUS_SQL = 'SELECT employee_id, status FROM employee WHERE employee_id = ANY($1::text[])'

export function requireActiveEmployees(
  field: string,
  ids: readonly string[],
  found: ReadonlyArray<{ employee_id: string; status: string }>,
): void {
  const status = new Map(found.map((r) => [r.employee_id, r.status]))
  const unknown = ids.filter((id) => !status.has(id))
  if (unknown.length > 0) fail(404, `${field}: no such employee: ${listed(unknown)}`)
  const disabled = ids.filter((id) => status.get(id) !== 'active')
  if (disabled.length > 0) fail(403, `${field}: disabled employees cannot join: ${listed(disabled)}`)
}

const listed = (ids: readonly string[]) =>
  ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ')
