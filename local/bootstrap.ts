import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MqttConnection } from '../schema/index.ts'
import { createEmployeeRow } from '../workers/actions/employee.create.ts'
import type { Bindings } from '../workers/env.ts'
import { issueCredential, mqttConnection } from '../workers/lib/credentials.ts'
import { openDb } from '../workers/lib/db.ts'

export const ADMIN_ID = 'admin'

export interface AdminFile {
  employee_id: string
  mqtt_connection: MqttConnection
}

/**
 * The first org admin: nobody can call employee.create before one exists. Created once; its
 * credential is deterministic (employee, version, created_at), so admin.json can always be rewritten.
 */
export async function ensureAdmin(env: Bindings, dataDir: string): Promise<AdminFile> {
  const sql = openDb(env)
  let [row] = (await sql.query('SELECT credential_version, created_at FROM employee WHERE employee_id = $1', [
    ADMIN_ID,
  ])) as Array<{
    credential_version: number
    created_at: Date
  }>
  if (!row) {
    const created = createEmployeeRow(
      sql,
      { employee_id: ADMIN_ID, name: 'Administrator', is_ai_agent: false, role: 'admin', skills_badge: [] },
      new Date(),
    )
    await created.write
    row = { credential_version: 1, created_at: new Date(created.created_at) }
  }
  const password = await issueCredential(env, ADMIN_ID, row.credential_version, new Date(row.created_at))
  const admin: AdminFile = { employee_id: ADMIN_ID, mqtt_connection: mqttConnection(env, ADMIN_ID, password) }
  await writeFile(join(dataDir, 'admin.json'), JSON.stringify(admin, null, 2) + '\n', { mode: 0o600 })
  return admin
}
