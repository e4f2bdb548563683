import { profileTopic, SENSITIVE_EMPLOYEE_FIELDS, type ProfileChange } from '../../schema/index.ts'
import { defineHandler, deliver } from '../lib/action.ts'
import { fail } from '../lib/errors.ts'

interface Current {
  name: string
  department_id: string | null
  manager_id: string | null
  is_ai_agent: boolean
  skills_badge: string[]
  role: 'admin' | 'member'
  status: 'active' | 'disabled'
}

// Columns an update may set, in a fixed order (never from the request's keys).
const COLUMNS = ['name', 'department_id', 'manager_id', 'skills_badge', 'role', 'status'] as const
// What an employee may change about themselves; everything else is for org admins.
const SELF_SERVICE = new Set<string>(['name'])

/**
 * Seed 002 §3.4: org admins update anyone; an employee may rename themselves. Changing `role` or
 * `status` needs a challenge, and no admin can change their own (nobody locks the org out by a
 * slip). The new profile goes out on mchat/profile/{employee_id} (seed 002 §3.18).
 */
export default defineHandler({
  action: 'employee.update',
  audit: (input) => ({ params: { employee_id: input.employee_id, fields: Object.keys(input.updates), updates: input.updates } }),
  sensitive: (input) => SENSITIVE_EMPLOYEE_FIELDS.some((f) => input.updates[f] !== undefined),
  async load(input, sql) {
    const rows = await sql.query(
      'SELECT name, department_id, manager_id, is_ai_agent, skills_badge, role, status FROM employee WHERE employee_id = $1',
      [input.employee_id],
    )
    return (rows[0] as Current | undefined) ?? null
  },
  async handle({ input, caller, sql, loaded: current, now }) {
    if (!current) fail(404, 'employee_id: no such employee')
    const fields = COLUMNS.filter((f) => input.updates[f] !== undefined)
    const self = caller.employee_id === input.employee_id
    if (caller.role !== 'admin') {
      if (!self) fail(403, 'only org admins can update other employees')
      const denied = fields.filter((f) => !SELF_SERVICE.has(f))
      if (denied.length > 0) fail(403, `only org admins can change ${denied.join(', ')}`)
    } else if (self && SENSITIVE_EMPLOYEE_FIELDS.some((f) => input.updates[f] !== undefined)) {
      fail(403, 'admins cannot change their own role or status')
    }
    const updated_at = now.toISOString()
    const next = { ...current, ...Object.fromEntries(fields.map((f) => [f, input.updates[f]])) } as Current
    const sets = fields.map((f, i) => `${f} = $${i + 3}`)
    const change: ProfileChange = {
      employee_id: input.employee_id,
      event: 'updated',
      fields,
      profile: {
        name: next.name,
        department_id: next.department_id,
        manager_id: next.manager_id,
        is_ai_agent: next.is_ai_agent,
        skills_badge: next.skills_badge,
        status: next.status,
      },
      updated_at,
    }
    return {
      data: { employee_id: input.employee_id, updated_at },
      writes: [
        sql.query(`UPDATE employee SET ${sets.join(', ')}, updated_at = $2 WHERE employee_id = $1`, [
          input.employee_id,
          updated_at,
          ...fields.map((f) => input.updates[f]),
        ]),
      ],
      deliveries: [deliver(profileTopic(input.employee_id), change)],
    }
  },
})
