import * as z from 'zod'
import { messageContent } from './content.ts'
import { departmentId, employeeId, groupId, isoTime } from './ids.ts'

/**
 * System notices (seed 002 §3.19): on members' inboxes for group events, on mchat/system/notify
 * when an employee joins, in the conversation an AI agent was asked in (docs/agents.md). One
 * notice per event: every recipient sees the same notify_id.
 */
const notice = <T extends string, B extends z.ZodType>(type: T, body: B) =>
  z.object({ notify_id: z.string(), type: z.literal(type), title: z.string(), body, created_at: isoTime })

const groupRef = { group_id: groupId, group_name: z.string() }

export const memberJoinedNotice = notice('member_joined', z.object({ ...groupRef, inviter_id: employeeId }))
export const memberRemovedNotice = notice('member_removed', z.object({ ...groupRef, operator_id: employeeId }))
export const groupDismissedNotice = notice('group_dismissed', z.object({ ...groupRef, operator_id: employeeId }))
/** An org admin's system.broadcast: the title is the admin's, the body says who sent it. */
export const announcementNotice = notice('announcement', z.object({ content: z.string(), operator_id: employeeId }))
export const employeeJoinedNotice = notice(
  'employee_joined',
  z.object({
    employee_id: employeeId,
    name: z.string(),
    department_id: departmentId.nullable(),
    is_ai_agent: z.boolean(),
  }),
)

/**
 * Told into the conversation an agent was asked in (the group topic, or the asker's inbox for a
 * private chat) when it could not answer: what triggered it and why, never message content.
 */
const agentEventBody = z.object({
  agent_id: employeeId,
  msg_id: z.string(),
  conversation_type: z.enum(['private', 'group']),
  group_id: groupId.optional(),
  detail: z.string().optional(),
})
export const agentTimeoutNotice = notice('agent_timeout', agentEventBody)
export const agentRateLimitedNotice = notice('agent_rate_limited', agentEventBody)
export const agentFailedNotice = notice('agent_failed', agentEventBody)
export const agentChainLimitNotice = notice('agent_chain_limit', agentEventBody)
/** On the inbox of the human an agent hands a conversation to (seed 001 §2.2 转人工): the asker's message. */
export const agentHandoffNotice = notice(
  'agent_handoff',
  z.object({
    agent_id: employeeId,
    conversation_type: z.enum(['private', 'group']),
    group_id: groupId.optional(),
    from_employee_id: employeeId,
    msg_id: z.string(),
    content: messageContent,
    sent_at: isoTime,
  }),
)

export const systemNotice = z.discriminatedUnion('type', [
  memberJoinedNotice,
  memberRemovedNotice,
  groupDismissedNotice,
  employeeJoinedNotice,
  announcementNotice,
  agentTimeoutNotice,
  agentRateLimitedNotice,
  agentFailedNotice,
  agentChainLimitNotice,
  agentHandoffNotice,
])
export type SystemNotice = z.infer<typeof systemNotice>
export type NoticeType = SystemNotice['type']

/** The titles clients show; the seed's own wording where it gives one (入群通知). */
export const NOTICE_TITLES: Record<NoticeType, string> = {
  member_joined: '入群通知',
  member_removed: '移出群聊通知',
  group_dismissed: '群解散通知',
  employee_joined: '新成员加入',
  announcement: '系统公告',
  agent_timeout: 'Agent 暂时无响应，可转人工',
  agent_rate_limited: 'Agent 调用过于频繁，请稍后再试',
  agent_failed: 'Agent 暂时无法回复，可转人工',
  agent_chain_limit: 'Agent 接力已达上限',
  agent_handoff: '转人工',
}
