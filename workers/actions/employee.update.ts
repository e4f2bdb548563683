import { profileTopic, SENSITIVE_EMPLOYEE_FIELDS, type ProfileChange } from '../../schema/index.ts'
import { defineHandler, deliver } from '../lib/action.ts'
import { agentChanges } from '../lib/agents-profile.ts'
import { webhookSecret } from '../lib/agents-webhook.ts'
import { brokerApi } from '../lib/broker-api.ts'
import { issueCredential, mqttConnection } from '../lib/credentials.ts'
import { fail } from '../lib/errors.ts'

interface Current {
  name: string
  department_id: string | null
  manager_id: string | null
  is_ai_agent: boolean
  skills_badge: string[]
  role: 'admin' | 'member'
  status: 'active' | 'disabled'
  credential_version: number
  agent_profile: unknown
  webhook_secret_version: number
}

// Columns an update may set, in a fixed order (never from the request's keys).
const COLUMNS = ['name', 'department_id', 'manager_id', 'skills_badge', 'role', 'status'] as const
// What an employee may change about themselves; everything else is for org admins.
const SELF_SERVICE = new Set<string>(['name', 'rotate_credentials'])

/**
 * Seed 002 §3.4: org admins update anyone; an employee may rename themselves. Changing `role` or
 * `status` needs a challenge, and no admin can change their own (nobody locks the org out by a
 * slip). The new profile goes out on mchat/profile/{employee_id} (seed 002 §3.18).
 */
export default defineHandler({
  action: 'employee.update',
  audit: (input) => ({
    params: { employee_id: input.employee_id, fields: Object.keys(input.updates), updates: input.updates },
  }),
  sensitive: (input) => SENSITIVE_EMPLOYEE_FIELDS.some((f) => input.updates[f] !== undefined),
  // The new password is rebuilt on replay (it is deterministic), never stored with the reply.
  // So is a new webhook secret (docs/agents.md), from its version.
  store: (data) => {
    const kept = data.webhook_secret === undefined ? data : { ...data, webhook_secret: '' }
    return kept.mqtt_connection ? { ...kept, mqtt_connection: { ...kept.mqtt_connection, mqtt_password: '' } } : kept
  },
  async replay(stored, env) {
    if (stored.webhook_secret_version !== undefined)
      stored = {
        ...stored,
        webhook_secret: await webhookSecret(env, stored.employee_id, stored.webhook_secret_version),
      }
    if (!stored.mqtt_connection || stored.credential_version === undefined) return stored
    const password = await issueCredential(
      env,
      stored.employee_id,
      stored.credential_version,
      new Date(stored.updated_at),
    )
    return { ...stored, mqtt_connection: { ...stored.mqtt_connection, mqtt_password: password } }
  },
  async load(input, sql) {
    const rows = await sql.query(
      'SELECT name, department_id, manager_id, is_ai_agent, skills_badge, role, status, credential_version, agent_profile, webhook_secret_version FROM employee WHERE employee_id = $1',
      [input.employee_id],
    )
    return (rows[0] as Current | undefined) ?? null
  },
  async handle({ input, caller, call, env, sql, loaded: current, now }) {
    if (!current) fail(404, 'employee_id: no such employee')
    const fields = COLUMNS.filter((f) => input.updates[f] !== undefined)
    const self = caller.employee_id === input.employee_id
    if (caller.role !== 'admin') {
      if (!self) fail(403, 'only org admins can update other employees')
      const denied = Object.keys(input.updates).filter((f) => !SELF_SERVICE.has(f))
      if (denied.length > 0) fail(403, `only org admins can change ${denied.join(', ')}`)
    } else if (self && (input.updates.role !== undefined || input.updates.status !== undefined)) {
      fail(403, 'admins cannot change their own role or status')
    }
    const updated_at = now.toISOString()
    const next = { ...current, ...Object.fromEntries(fields.map((f) => [f, input.updates[f]])) } as Current
    // AI agent fields (docs/agents.md): admins only, as everything outside SELF_SERVICE.
    const agent = await agentChanges(input.updates, current, env, input.employee_id)
    const change: ProfileChange = {
      employee_id: input.employee_id,
      event: 'updated',
      fields: [...fields, ...agent.fields],
      profile: {
        name: next.name,
        department_id: next.department_id,
        manager_id: next.manager_id,
        is_ai_agent: agent.is_ai_agent,
        skills_badge: next.skills_badge,
        status: next.status,
      },
      updated_at,
    }
    const rotate = input.updates.rotate_credentials === true
    const version = current.credential_version + 1
    const rotated = rotate
      ? {
          credential_version: version,
          mqtt_connection: mqttConnection(
            env,
            input.employee_id,
            await issueCredential(env, input.employee_id, version, now),
          ),
        }
      : {}
    const sets = [
      ...fields.map((f, i) => `${f} = $${i + 3}`),
      ...(rotate ? [`credential_version = ${version}`] : []),
      ...agent.columns.map(([column], i) => `${column} = $${fields.length + i + 3}`),
    ]
    // Disabled or re-credentialed: live connections go now, not at their next reconnect — except
    // the one rotating its own credentials, which must still receive them (it binds again).
    const cutOff = rotate || input.updates.status === 'disabled'
    const keep = self ? call.clientId : undefined
    return {
      data: { employee_id: input.employee_id, updated_at, ...rotated, ...agent.secret },
      writes: [
        sql.query(`UPDATE employee SET ${[...sets, 'updated_at = $2'].join(', ')} WHERE employee_id = $1`, [
          input.employee_id,
          updated_at,
          ...fields.map((f) => input.updates[f]),
          ...agent.columns.map(([, value]) => value),
        ]),
        // Bound clients must bind again with the new password.
        ...(rotate ? [sql.query('DELETE FROM client_session WHERE employee_id = $1', [input.employee_id])] : []),
      ],
      deliveries: change.fields.length > 0 ? [deliver(profileTopic(input.employee_id), change)] : [],
      ...(cutOff
        ? { after: async () => void (await brokerApi(env)?.disconnectEmployee(input.employee_id, keep)) }
        : {}),
    }
  },
})
