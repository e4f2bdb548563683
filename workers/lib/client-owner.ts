import { employeeOfClientId, underscoreCandidates } from '../../schema/index.ts'
import type { Sql } from './db.ts'

/**
 * Whose client ids these are. The dot form names its employee by itself; the underscore form
 * (`emp_1_x_phone`) belongs to the longest existing employee id it starts with followed by `_`
 * (emp_1_x if there is one, else emp_1), so a shorter id never reaches a longer one's client ids.
 * One indexed read for all of them; ids that are neither form, or name nobody, are left out.
 */
export async function clientOwners(sql: Sql, clientIds: readonly string[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>()
  const open = new Map<string, string[]>()
  for (const id of clientIds) {
    const dotted = employeeOfClientId(id)
    if (dotted !== null) owners.set(id, dotted)
    else {
      const candidates = underscoreCandidates(id)
      if (candidates.length > 0) open.set(id, candidates)
    }
  }
  if (open.size === 0) return owners
  const wanted = [...new Set([...open.values()].flat())]
  const rows = (await sql.query('SELECT employee_id FROM employee WHERE employee_id = ANY($1::text[])', [
    wanted,
  ])) as Array<{ employee_id: string }>
  const existing = new Set(rows.map((r) => r.employee_id))
  // Candidates come longest first.
  for (const [id, candidates] of open) {
    const owner = candidates.find((c) => existing.has(c))
    if (owner !== undefined) owners.set(id, owner)
  }
  return owners
}

export async function clientOwner(sql: Sql, clientId: string): Promise<string | null> {
  return (await clientOwners(sql, [clientId])).get(clientId) ?? null
}
