import { HTTPException } from 'hono/http-exception'
import { NeonDbError } from '@neondatabase/serverless'
import type { ErrorCode } from '../../schema/index.ts'

/** Throw from anywhere in a worker; the app's one onError turns it into a reply. */
export function fail(code: ErrorCode, message: string): never {
  throw new HTTPException(code, { message })
}

/** Constraint violations that mean bad input, not a server fault, named by constraint. */
const CONSTRAINTS: Record<string, [ErrorCode, string]> = {
  employee_pkey: [409, 'employee_id: already exists'],
  employee_department_id_fkey: [404, 'department_id: no such department'],
  employee_manager_id_fkey: [404, 'manager_id: no such employee'],
  client_session_employee_id_fkey: [404, 'employee_id: no such employee'],
}

/** Maps a database error to a reply error, or undefined when it is a server fault. */
export function dbErrorToHttp(err: unknown): HTTPException | undefined {
  if (!(err instanceof NeonDbError)) return undefined
  const known = err.constraint ? CONSTRAINTS[err.constraint] : undefined
  if (known) return new HTTPException(known[0], { message: known[1] })
  // Class 22 (data exception, e.g. a NUL byte in text) and check violations: the input's fault.
  if (err.code?.startsWith('22') || err.code === '23514') return new HTTPException(400, { message: `invalid value: ${err.message}` })
  return undefined
}

/** The driver wraps transport failures in NeonDbError without a SQLSTATE code. */
export function isDbUnavailable(err: unknown): boolean {
  return err instanceof NeonDbError && !err.code
}
