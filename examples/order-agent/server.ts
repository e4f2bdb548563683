import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { listen } from '../../local/ports.ts'
import { createOrderAgent, type OrderAgentOptions } from './agent.ts'

export interface RunningAgent {
  /** The webhook_endpoint to give employee.create. */
  url: string
  close(): Promise<void>
}

/** The order agent over HTTP on Node; port 0 picks a free one (tests). */
export async function serveOrderAgent(
  options: OrderAgentOptions & { port?: number; host?: string },
): Promise<RunningAgent> {
  const handler = createOrderAgent(options)
  const server = createAdaptorServer({ fetch: handler }) as Server
  const host = options.host ?? '127.0.0.1'
  const port = await listen(server, options.port ?? 0, host, 'order agent')
  return {
    url: `http://${host}:${port}/mchat`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
