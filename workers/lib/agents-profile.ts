import {
  agentProfile,
  describeZodError,
  GROUP_MAX_MEMBERS,
  inboxTopic,
  type AgentProfile,
  type AgentProfilePatch,
  type Delivery,
} from '../../schema/index.ts'
import type { Bindings } from '../env.ts'
import { deliver, type Write } from './action.ts'
import { webhookAddressProblem, webhookSecret } from './agents-webhook.ts'
import type { Sql } from './db.ts'
import { fail } from './errors.ts'
import { notice } from './notices.ts'

/**
 * An agent's profile on its way into the database (employee.create, employee.update): the
 * webhook checked against SSRF, `connection` made explicit, auto_join_groups applied at creation.
 */

export type StoredProfile = AgentProfile & { connection: 'webhook' | 'mqtt' }

/** The profile as stored; 400 naming `field` for a webhook MChat must not call. */
export function profileToStore(p: AgentProfile, env: Bindings, field: string): StoredProfile {
  if (p.webhook_endpoint) {
    const why = webhookAddressProblem(p.webhook_endpoint, env.AGENT_WEBHOOK_ALLOW_HOSTS)
    if (why) fail(400, `${field}.webhook_endpoint: ${why}`)
  }
  return { ...p, connection: p.webhook_endpoint ? 'webhook' : 'mqtt' }
}

/**
 * employee.update: the named fields replace the current ones, null clears one; `connection` is
 * inferred again unless the patch states it, so clearing the webhook makes an MQTT agent.
 */
export function patchProfile(current: unknown, patch: AgentProfilePatch, env: Bindings): StoredProfile {
  const { connection: _, ...kept } = (current && typeof current === 'object' ? current : {}) as Record<string, unknown>
  const merged: Record<string, unknown> = { ...kept }
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k]
    else if (v !== undefined) merged[k] = v
  }
  const parsed = agentProfile.safeParse(merged)
  if (!parsed.success) fail(400, `updates.agent_profile.${describeZodError(parsed.error)}`)
  return profileToStore(parsed.data, env, 'updates.agent_profile')
}

export interface AutoJoinGroup {
  group_id: string
  name: string
  dismissed: boolean
  members: number
}

/** employee.create's `load`: the groups a new agent is to join, read with the session (no extra round trip). */
export async function loadAutoJoin(sql: Sql, ids: readonly string[]): Promise<AutoJoinGroup[]> {
  if (ids.length === 0) return []
  return (await sql.query(
    `SELECT g.group_id, g.name, g.dismissed_at IS NOT NULL AS dismissed, (SELECT count(*)::int FROM group_member m WHERE m.group_id = g.group_id) AS members
       FROM chat_group g WHERE g.group_id = ANY($1::text[])`,
    [ids],
  )) as AutoJoinGroup[]
}

/**
 * A new agent joins its auto_join_groups in the creating transaction (after its own row), and is
 * told on its inbox as group.member_add would tell it, so an MQTT-connected agent subscribes.
 */
export function autoJoin(
  sql: Sql,
  employeeId: string,
  ids: readonly string[],
  loaded: readonly AutoJoinGroup[],
  at: string,
  inviter: string,
): { writes: Write[]; deliveries: Delivery[] } {
  if (ids.length === 0) return { writes: [], deliveries: [] }
  const field = 'agent_profile.auto_join_groups'
  const groups = [...new Set(ids)].map(
    (id) => loaded.find((g) => g.group_id === id) ?? fail(404, `${field}: no such group: ${id}`),
  )
  const gone = groups.find((g) => g.dismissed)
  if (gone) fail(404, `${field}: the group was dismissed: ${gone.group_id}`)
  const full = groups.find((g) => g.members >= GROUP_MAX_MEMBERS)
  if (full) fail(400, `${field}: ${full.group_id} already has ${GROUP_MAX_MEMBERS} members`)
  const gids = groups.map((g) => g.group_id)
  return {
    writes: [
      // Locks the groups, so a concurrent dismissal or addition is seen; each refusal rolls back the creation.
      sql.query(
        `SELECT mchat_check((SELECT count(*) FROM (SELECT 1 FROM chat_group WHERE group_id = ANY($1::text[]) AND dismissed_at IS NULL FOR UPDATE) g) = cardinality($1::text[]), 'group_gone')`,
        [gids],
      ),
      sql.query(
        `INSERT INTO group_member (group_id, employee_id, role, joined_at) SELECT g, $2, 'member', $3 FROM unnest($1::text[]) AS g`,
        [gids, employeeId, at],
      ),
      sql.query(
        `SELECT mchat_check(NOT EXISTS (SELECT 1 FROM group_member WHERE group_id = ANY($1::text[]) GROUP BY group_id HAVING count(*) > $2), 'group_full')`,
        [gids, GROUP_MAX_MEMBERS],
      ),
    ],
    deliveries: groups.map((g) =>
      deliver(
        inboxTopic(employeeId),
        notice('member_joined', g.group_id, at, { group_id: g.group_id, group_name: g.name, inviter_id: inviter }),
      ),
    ),
  }
}

interface AgentUpdates {
  is_ai_agent?: boolean | undefined
  agent_profile?: AgentProfilePatch | undefined
  rotate_webhook_secret?: true | undefined
}

const hasWebhook = (p: unknown) => typeof (p as { webhook_endpoint?: unknown } | null)?.webhook_endpoint === 'string'

/**
 * employee.update's agent fields: the columns to set (in order), the profile fields it changed,
 * and a new webhook secret when one is rotated or the agent just got a webhook (shown once: the
 * version is bumped, so nothing that was never shown is ever valid).
 */
export async function agentChanges(
  updates: AgentUpdates,
  current: { is_ai_agent: boolean; agent_profile: unknown; webhook_secret_version: number },
  env: Bindings,
  employeeId: string,
): Promise<{
  fields: string[]
  columns: Array<[string, unknown]>
  is_ai_agent: boolean
  secret: { webhook_secret: string; webhook_secret_version: number } | null
}> {
  const is_ai_agent = updates.is_ai_agent ?? current.is_ai_agent
  const fields: string[] = []
  const columns: Array<[string, unknown]> = []
  if (updates.is_ai_agent !== undefined) {
    fields.push('is_ai_agent')
    columns.push(['is_ai_agent', updates.is_ai_agent])
  }
  if (!is_ai_agent) {
    if (updates.agent_profile || updates.rotate_webhook_secret)
      fail(400, 'updates.agent_profile: only AI agents have one (is_ai_agent: true)')
    if (current.agent_profile !== null) columns.push(['agent_profile', null])
    return { fields, columns, is_ai_agent, secret: null }
  }
  let profile = current.agent_profile
  if (updates.agent_profile) {
    profile = patchProfile(current.agent_profile, updates.agent_profile, env)
    fields.push('agent_profile')
    columns.push(['agent_profile', JSON.stringify(profile)])
  }
  if (updates.rotate_webhook_secret && !hasWebhook(profile))
    fail(400, `updates.rotate_webhook_secret: ${employeeId} has no webhook_endpoint`)
  if (
    !hasWebhook(profile) ||
    (!updates.rotate_webhook_secret && current.is_ai_agent && hasWebhook(current.agent_profile))
  ) {
    return { fields, columns, is_ai_agent, secret: null }
  }
  const version = current.webhook_secret_version + 1
  columns.push(['webhook_secret_version', version])
  return {
    fields,
    columns,
    is_ai_agent,
    secret: { webhook_secret: await webhookSecret(env, employeeId, version), webhook_secret_version: version },
  }
}
