import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { listen } from '../local/ports.ts'
import { ok } from '../schema/index.ts'
import { answer } from '../workers/lib/answer.ts'

/**
 * A worker that does nothing: every action route answers at once with the production answer
 * writer (NDJSON, the reply line only). Between it and the bare echo lies only what the relay and
 * the HTTP hop cost. It does not verify the relay's token: that is the worker's cost, not the
 * relay's (the relay still signs every call).
 */
export function noopApp(): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => c.text('ok'))
  app.post('/v1/actions/:action', async (c) => {
    // The body is read, as any worker must to check its hash.
    await c.req.arrayBuffer()
    return answer([], ok({ noop: true, action: c.req.param('action') }))
  })
  return app
}

/** Serves the no-op worker on Node the way workers/entry/node.ts serves the real one. */
export async function serveNoop(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const app = noopApp()
  const server = createAdaptorServer({ fetch: (req: Request) => app.fetch(req) }) as Server
  server.on('connection', (socket) => socket.setNoDelay(true))
  await listen(server, port, '127.0.0.1', 'no-op worker')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
