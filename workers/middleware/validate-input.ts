import type { MiddlewareHandler } from 'hono'
import { actions, checkEnvelope, describeZodError, UNSTORABLE_MESSAGE, unstorableAt } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import { fail } from '../lib/errors.ts'

/** The verified body against the envelope, what can be stored, and the action's contract: 400 naming the field. */
export function validateInput(): MiddlewareHandler<AppEnv> {
  return async function validateInput(c, next) {
    const call = c.get('call')
    let payload: unknown
    try {
      payload = JSON.parse(new TextDecoder().decode(call.body))
    } catch {
      fail(400, 'payload is not valid JSON')
    }
    const envelope = checkEnvelope(payload, call.seqId)
    if (!envelope.ok) fail(400, envelope.message)
    if (envelope.action !== call.action) fail(400, 'action: does not match the route')
    const { action: _a, seq_id: _s, ...rest } = payload as Record<string, unknown>
    const unstorable = unstorableAt(rest)
    if (unstorable !== null) fail(400, `${unstorable}: ${UNSTORABLE_MESSAGE}`)
    const parsed = actions[call.action].request.safeParse(rest)
    if (!parsed.success) fail(400, describeZodError(parsed.error))
    c.set('input', parsed.data)
    await next()
  }
}
