import { HTTPException } from 'hono/http-exception'
import { NeonDbError } from '@neondatabase/serverless'
import type { ErrorCode } from '../../schema/index.ts'

/** A refusal whose reply carries `data` too (429: when to retry). */
export class ActionError extends HTTPException {
  constructor(
    code: ErrorCode,
    message: string,
    readonly data: unknown = null,
  ) {
    super(code, { message })
  }
}

/** Throw from anywhere in a worker; the app's one onError turns it into a reply. */
export function fail(code: ErrorCode, message: string, data?: unknown): never {
  throw new ActionError(code, message, data)
}

/** Constraint violations (and the challenge function's refusals) that mean bad input, not a server fault. */
const CONSTRAINTS: Record<string, [ErrorCode, string]> = {
  employee_pkey: [409, 'employee_id: already exists'],
  employee_department_id_fkey: [404, 'department_id: no such department'],
  employee_manager_id_fkey: [404, 'manager_id: no such employee'],
  client_session_employee_id_fkey: [404, 'employee_id: no such employee'],
  department_pkey: [409, 'department_id: already exists'],
  department_parent_id_fkey: [404, 'parent_id: no such department'],
  chat_group_pkey: [409, 'group_id: already exists'],
  department_not_empty: [409, 'department_id: it gained sub-departments or employees meanwhile: pass reassign_to'],
  group_gone: [404, 'group_id: the group was dismissed'],
  group_full: [400, 'member_ids: the group would have more members than allowed'],
  challenge_invalid: [403, 'challenge: unknown challenge_id or wrong token'],
  challenge_not_yours: [403, 'challenge: issued to another employee'],
  challenge_used: [403, 'challenge: already used'],
  challenge_expired: [403, 'challenge: expired, ask auth.challenge for a new one'],
  challenge_wrong_action: [403, 'challenge: issued for another action'],
}

/** Maps a database error to a reply error, or undefined when it is a server fault. */
export function dbErrorToHttp(err: unknown): HTTPException | undefined {
  if (!(err instanceof NeonDbError)) return undefined
  const known = err.constraint ? CONSTRAINTS[err.constraint] : undefined
  if (known) return new ActionError(known[0], known[1])
  // Class 22 (data exception, e.g. a NUL byte in text) and check violations: the input's fault.
  if (err.code?.startsWith('22') || err.code === '23514') return new ActionError(400, `invalid value: ${err.message}`)
  return undefined
}

/** The driver wraps transport failures in NeonDbError without a SQLSTATE code. */
export function isDbUnavailable(err: unknown): boolean {
  return err instanceof NeonDbError && !err.code
}

/** What any error becomes on the wire: the reply code and message, and data for an ActionError. */
export function errorReply(err: unknown): { code: ErrorCode; message: string; data: unknown } {
  const known = err instanceof HTTPException ? err : dbErrorToHttp(err)
  if (known)
    return {
      code: known.status as ErrorCode,
      message: known.message,
      data: known instanceof ActionError ? known.data : null,
    }
  if (isDbUnavailable(err)) return { code: 503, message: 'database unavailable', data: null }
  return { code: 500, message: 'internal error', data: null }
}
