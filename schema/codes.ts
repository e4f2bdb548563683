/**
 * Reply codes (seed 002 §1.2). 409, 413 and 503 are additions, each for a case the seed's codes
 * would misdescribe: 409 a conflict with the current state (a seq_id reused with a different
 * payload, an id already taken, a department still holding others), 413 a request over the size
 * limit, 503 a worker or store that cannot be reached (the request may be retried as is).
 */
export const Code = {
  OK: 0,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const

export type Code = (typeof Code)[keyof typeof Code]
export type ErrorCode = Exclude<Code, 0>

export const ERROR_CODES = Object.values(Code).filter((c): c is ErrorCode => c !== 0)

export function isErrorCode(n: number): n is ErrorCode {
  return (ERROR_CODES as number[]).includes(n)
}
