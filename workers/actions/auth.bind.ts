import { CLIENT_ID_SCHEME, CLIENT_ID_SCHEME_UNDERSCORE } from '../../schema/index.ts'
import type { Bindings } from '../env.ts'
import { defineHandler } from '../lib/action.ts'
import { clientOwner } from '../lib/client-owner.ts'
import { verifyCredential } from '../lib/credentials.ts'
import { fail } from '../lib/errors.ts'

/** Seed 002 §3.1: binds this client_id to the employee its mqtt_password names. */
interface Loaded {
  /** version null: proven by the broker, which checked the current password at connect. */
  cred: { employeeId: string; version: number | null } | null
  employee: { status: string; credential_version: number } | undefined
}

export default defineHandler({
  action: 'auth.bind',
  audit: (input, data) => ({
    operator: data?.employee_id,
    params: { employee_id: input.employee_id ?? null, device_info: input.device_info ?? null },
  }),
  async load(input, sql, env): Promise<Loaded> {
    const cred =
      input.mqtt_password === undefined
        ? brokerProven(env, input.employee_id)
        : await verifyCredential(env, input.mqtt_password)
    if (!cred) return { cred, employee: undefined }
    const rows = await sql.query('SELECT status, credential_version FROM employee WHERE employee_id = $1', [
      cred.employeeId,
    ])
    return { cred, employee: rows[0] as Loaded['employee'] }
  },
  async handle({ input, call, env, sql, loaded: { cred, employee: emp } }) {
    if (input.mqtt_password === undefined && env.BROKER_ENFORCES_IDENTITY !== 'true') {
      fail(400, 'mqtt_password: required (this broker does not verify client ids)')
    }
    if (!cred)
      fail(
        401,
        input.mqtt_password === undefined
          ? 'employee_id: required without mqtt_password'
          : 'mqtt_password is not a valid credential',
      )
    const employee_id = cred.employeeId
    if (input.employee_id !== undefined && input.employee_id !== employee_id)
      fail(401, 'mqtt_password does not belong to employee_id')
    const owner = await clientOwner(sql, call.clientId)
    if (owner !== employee_id) {
      fail(
        403,
        owner === null || !call.clientId.startsWith(`${employee_id}_`)
          ? `client_id must follow ${CLIENT_ID_SCHEME} or ${CLIENT_ID_SCHEME_UNDERSCORE} with employee_id ${employee_id}`
          : `client_id belongs to ${owner}, the longest employee id it starts with; use ${employee_id}.{device_id}`,
      )
    }
    if (!emp || (cred.version !== null && emp.credential_version !== cred.version))
      fail(401, 'mqtt_password has been revoked')
    if (emp.status !== 'active') fail(403, 'employee is disabled')
    return {
      data: { employee_id },
      writes: [
        sql.query(
          `INSERT INTO client_session (client_id, employee_id, device_info) VALUES ($1, $2, $3)
           ON CONFLICT (client_id) DO UPDATE SET employee_id = EXCLUDED.employee_id,
             device_info = EXCLUDED.device_info, connected_at = now(), expires_at = NULL`,
          [call.clientId, employee_id, input.device_info ?? null],
        ),
      ],
    }
  },
})

// The broker authenticated this connection and checked that its client id is the employee's
// (workers/broker/authn.ts), so the client id is the proof; handle() still compares them.
function brokerProven(env: Bindings, employeeId: string | undefined): Loaded['cred'] {
  return env.BROKER_ENFORCES_IDENTITY === 'true' && employeeId !== undefined ? { employeeId, version: null } : null
}
