import type { ErrorCode } from '../schema/index.ts'

/** A refused request: the server's reply code and message (or the SDK's own 503/504). */
export class MChatError extends Error {
  override name = 'MChatError'
  constructor(
    readonly code: ErrorCode | number,
    message: string,
    readonly data: unknown = null,
    readonly action?: string,
  ) {
    super(message)
  }
}
