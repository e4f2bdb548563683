import { newId, SYSTEM_NOTIFY_TOPIC, underscoreCandidates } from '../../schema/index.ts'
import { defineHandler, deliver } from '../lib/action.ts'
import { autoJoin, loadAutoJoin, profileToStore, type StoredProfile } from '../lib/agents-profile.ts'
import { webhookSecret } from '../lib/agents-webhook.ts'
import type { Sql } from '../lib/db.ts'
import { issueCredential, mqttConnection } from '../lib/credentials.ts'
import { fail } from '../lib/errors.ts'
import { notice } from '../lib/notices.ts'

const FIRST_CREDENTIAL_VERSION = 1
const FIRST_WEBHOOK_SECRET_VERSION = 1

/**
 * Seed 002 §3.3: an org admin creates an employee; the reply carries its MQTT credentials and
 * everyone is told on mchat/system/notify.
 */
export default defineHandler({
  action: 'employee.create',
  audit: (input, data) => ({
    params: {
      employee_id: data?.employee_id ?? input.employee_id ?? null,
      name: input.name,
      department_id: input.department_id ?? null,
      role: input.role,
      is_ai_agent: input.is_ai_agent,
    },
  }),
  // The password and webhook secret are rebuilt on replay (both are deterministic), never stored with the reply.
  store: (data) => ({
    ...data,
    mqtt_connection: { ...data.mqtt_connection, mqtt_password: '' },
    ...(data.webhook_secret ? { webhook_secret: '' } : {}),
  }),
  async replay(stored, env) {
    const password = await issueCredential(
      env,
      stored.employee_id,
      FIRST_CREDENTIAL_VERSION,
      new Date(stored.created_at),
    )
    const secret =
      stored.webhook_secret === undefined
        ? {}
        : { webhook_secret: await webhookSecret(env, stored.employee_id, FIRST_WEBHOOK_SECRET_VERSION) }
    return { ...stored, mqtt_connection: { ...stored.mqtt_connection, mqtt_password: password }, ...secret }
  },
  // The groups an AI agent joins at once (docs/agents.md), and whether the id extends another's.
  load: async (input, sql) => {
    const [joins, extended] = await Promise.all([
      loadAutoJoin(sql, input.agent_profile?.auto_join_groups ?? []),
      input.employee_id === undefined ? null : extendedEmployee(sql, input.employee_id),
    ])
    return { joins, extended }
  },
  async handle({ input, caller, env, sql, now, loaded: { joins: loaded, extended } }) {
    if (caller.role !== 'admin') fail(403, 'only org admins can create employees')
    if (extended !== null)
      fail(
        409,
        `employee_id: ${input.employee_id} is ${extended}'s id followed by _, so it would take over client ids ${extended} may use (${input.employee_id}_…); choose another`,
      )
    const profile = input.agent_profile && profileToStore(input.agent_profile, env, 'agent_profile')
    const created = createEmployeeRow(
      sql,
      { ...input, employee_id: input.employee_id ?? newId('emp'), agent_profile: profile },
      now,
    )
    const joins = autoJoin(
      sql,
      created.employee_id,
      profile?.auto_join_groups ?? [],
      loaded,
      created.created_at,
      caller.employee_id,
    )
    const secret = profile?.webhook_endpoint
      ? { webhook_secret: await webhookSecret(env, created.employee_id, FIRST_WEBHOOK_SECRET_VERSION) }
      : {}
    const password = await issueCredential(env, created.employee_id, FIRST_CREDENTIAL_VERSION, now)
    const joined = notice('employee_joined', created.employee_id, created.created_at, {
      employee_id: created.employee_id,
      name: input.name,
      department_id: input.department_id ?? null,
      is_ai_agent: input.is_ai_agent,
    })
    return {
      data: {
        employee_id: created.employee_id,
        name: input.name,
        created_at: created.created_at,
        mqtt_connection: mqttConnection(env, created.employee_id, password),
        ...secret,
      },
      writes: [created.write, ...joins.writes],
      deliveries: [deliver(SYSTEM_NOTIFY_TOPIC, joined), ...joins.deliveries],
    }
  },
})

/**
 * The existing employee whose id this one extends with `_`, if any. Underscore-form client ids
 * belong to the longest employee id they start with (workers/lib/client-owner.ts), so creating
 * emp_1_x would hand it emp_1's `emp_1_x_…` devices and their broker sessions.
 */
async function extendedEmployee(sql: Sql, employeeId: string): Promise<string | null> {
  const prefixes = underscoreCandidates(employeeId)
  if (prefixes.length === 0) return null
  const rows = (await sql.query(
    'SELECT employee_id FROM employee WHERE employee_id = ANY($1::text[]) ORDER BY length(employee_id) DESC LIMIT 1',
    [prefixes],
  )) as Array<{ employee_id: string }>
  return rows[0]?.employee_id ?? null
}

export interface NewEmployee {
  employee_id: string
  name: string
  is_ai_agent: boolean
  department_id?: string | null | undefined
  manager_id?: string | null | undefined
  role: 'admin' | 'member'
  skills_badge: string[]
  agent_profile?: StoredProfile | undefined
}

/** The insert behind employee.create, shared with the first-admin bootstrap. Seconds precision: the credential's iat. */
export function createEmployeeRow(sql: Sql, e: NewEmployee, now: Date) {
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000)
  return {
    employee_id: e.employee_id,
    created_at: at.toISOString(),
    write: sql.query(
      `INSERT INTO employee (employee_id, name, department_id, manager_id, is_ai_agent, skills_badge, role, credential_version, created_at, updated_at, agent_profile)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10::jsonb)`,
      [
        e.employee_id,
        e.name,
        e.department_id ?? null,
        e.manager_id ?? null,
        e.is_ai_agent,
        e.skills_badge,
        e.role,
        FIRST_CREDENTIAL_VERSION,
        at.toISOString(),
        e.agent_profile ? JSON.stringify(e.agent_profile) : null,
      ],
    ),
  }
}
