import { newId, SYSTEM_NOTIFY_TOPIC } from '../../schema/index.ts'
import { defineHandler, deliver } from '../lib/action.ts'
import type { Sql } from '../lib/db.ts'
import { issueCredential, mqttConnection } from '../lib/credentials.ts'
import { fail } from '../lib/errors.ts'
import { notice } from '../lib/notices.ts'

const FIRST_CREDENTIAL_VERSION = 1

/**
 * Seed 002 §3.3: an org admin creates an employee; the reply carries its MQTT credentials and
 * everyone is told on mchat/system/notify.
 */
export default defineHandler({
  action: 'employee.create',
  audit: (input, data) => ({
    params: { employee_id: data?.employee_id ?? input.employee_id ?? null, name: input.name, department_id: input.department_id ?? null, role: input.role, is_ai_agent: input.is_ai_agent },
  }),
  // The password is rebuilt on replay (it is deterministic), never stored with the reply.
  store: (data) => ({ ...data, mqtt_connection: { ...data.mqtt_connection, mqtt_password: '' } }),
  async replay(stored, env) {
    const password = await issueCredential(env, stored.employee_id, FIRST_CREDENTIAL_VERSION, new Date(stored.created_at))
    return { ...stored, mqtt_connection: { ...stored.mqtt_connection, mqtt_password: password } }
  },
  async handle({ input, caller, env, sql, now }) {
    if (caller.role !== 'admin') fail(403, 'only org admins can create employees')
    const created = createEmployeeRow(sql, { ...input, employee_id: input.employee_id ?? newId('emp') }, now)
    const password = await issueCredential(env, created.employee_id, FIRST_CREDENTIAL_VERSION, now)
    const joined = notice('employee_joined', created.employee_id, created.created_at, {
      employee_id: created.employee_id,
      name: input.name,
      department_id: input.department_id ?? null,
      is_ai_agent: input.is_ai_agent,
    })
    return {
      data: { employee_id: created.employee_id, name: input.name, created_at: created.created_at, mqtt_connection: mqttConnection(env, created.employee_id, password) },
      writes: [created.write],
      deliveries: [deliver(SYSTEM_NOTIFY_TOPIC, joined)],
    }
  },
})

export interface NewEmployee {
  employee_id: string
  name: string
  is_ai_agent: boolean
  department_id?: string | null | undefined
  manager_id?: string | null | undefined
  role: 'admin' | 'member'
  skills_badge: string[]
  agent_profile?: { model_type?: string | undefined; capabilities: string[] } | undefined
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
      [e.employee_id, e.name, e.department_id ?? null, e.manager_id ?? null, e.is_ai_agent, e.skills_badge, e.role, FIRST_CREDENTIAL_VERSION, at.toISOString(),
        e.agent_profile ? JSON.stringify(e.agent_profile) : null],
    ),
  }
}
