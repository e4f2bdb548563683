import * as z from 'zod'
import { departmentId, employeeId, groupId, isoTime } from './ids.ts'

/**
 * System notices (seed 002 §3.19): on members' inboxes for group events, on mchat/system/notify
 * when an employee joins. One notice per event: every recipient sees the same notify_id.
 */
const notice = <T extends string, B extends z.ZodType>(type: T, body: B) =>
  z.object({ notify_id: z.string(), type: z.literal(type), title: z.string(), body, created_at: isoTime })

const groupRef = { group_id: groupId, group_name: z.string() }

export const memberJoinedNotice = notice('member_joined', z.object({ ...groupRef, inviter_id: employeeId }))
export const memberRemovedNotice = notice('member_removed', z.object({ ...groupRef, operator_id: employeeId }))
export const groupDismissedNotice = notice('group_dismissed', z.object({ ...groupRef, operator_id: employeeId }))
export const employeeJoinedNotice = notice(
  'employee_joined',
  z.object({ employee_id: employeeId, name: z.string(), department_id: departmentId.nullable(), is_ai_agent: z.boolean() }),
)

export const systemNotice = z.discriminatedUnion('type', [memberJoinedNotice, memberRemovedNotice, groupDismissedNotice, employeeJoinedNotice])
export type SystemNotice = z.infer<typeof systemNotice>
export type NoticeType = SystemNotice['type']

/** The titles clients show; the seed's own wording where it gives one (入群通知). */
export const NOTICE_TITLES: Record<NoticeType, string> = {
  member_joined: '入群通知',
  member_removed: '移出群聊通知',
  group_dismissed: '群解散通知',
  employee_joined: '新成员加入',
}
