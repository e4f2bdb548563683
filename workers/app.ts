import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { actionPath, fail as failReply, type ActionName } from '../schema/index.ts'
import authBind from './actions/auth.bind.ts'
import employeeCreate from './actions/employee.create.ts'
import msgSendPrivate from './actions/msg.send_private.ts'
import orgTree from './actions/org.tree.ts'
import type { AppEnv } from './env.ts'
import type { ActionHandler } from './lib/action.ts'
import { dbErrorToHttp, isDbUnavailable } from './lib/errors.ts'
import { runAction } from './lib/run.ts'
import { relayAuth } from './middleware/relay-auth.ts'
import { resolveSession } from './middleware/resolve-session.ts'
import { validateInput } from './middleware/validate-input.ts'

/** Every action's handler; the type makes a contract without a handler a compile error. */
export const handlers: { [A in ActionName]: ActionHandler<A, any> } = {
  'auth.bind': authBind,
  'employee.create': employeeCreate,
  'org.tree': orgTree,
  'msg.send_private': msgSendPrivate,
}

export function createApp() {
  const app = new Hono<AppEnv>()
  app.get('/healthz', (c) => c.text('ok'))
  for (const handler of Object.values(handlers)) {
    const h = handler as ActionHandler<ActionName, unknown>
    app.post(actionPath(h.action), relayAuth(), validateInput(), resolveSession(h), runAction(h))
  }
  app.notFound((c) => c.json(failReply(404, 'unknown action'), 404))
  app.onError((err, c) => {
    const known = err instanceof HTTPException ? err : dbErrorToHttp(err)
    if (known) return c.json(failReply(known.status as 400, known.message), known.status)
    if (isDbUnavailable(err)) {
      console.error(`database unavailable: ${err.message}`)
      return c.json(failReply(503, 'database unavailable'), 503)
    }
    console.error(err)
    return c.json(failReply(500, 'internal error'), 500)
  })
  return app
}

export const app = createApp()
export default app
