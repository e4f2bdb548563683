import type { MiddlewareHandler } from 'hono'
import { actions, describeZodError } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import { fail } from '../lib/errors.ts'

/** The verified body against the envelope and the action's contract: 400 naming the field. */
export function validateInput(): MiddlewareHandler<AppEnv> {
  return async function validateInput(c, next) {
    const call = c.get('call')
    let payload: unknown
    try {
      payload = JSON.parse(new TextDecoder().decode(call.body))
    } catch {
      fail(400, 'payload is not valid JSON')
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) fail(400, 'payload must be a JSON object')
    const { action, seq_id, ...rest } = payload as Record<string, unknown>
    if (action !== call.action) fail(400, 'action: does not match the route')
    if (seq_id !== undefined && seq_id !== call.seqId) fail(400, 'seq_id: does not match the seq_id in the topic')
    const parsed = actions[call.action].request.safeParse(rest)
    if (!parsed.success) fail(400, describeZodError(parsed.error))
    c.set('input', parsed.data)
    await next()
  }
}
