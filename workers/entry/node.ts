import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { listen } from '../../local/ports.ts'
import app from '../app.ts'
import type { Bindings } from '../env.ts'

export interface WorkerServer {
  url: string
  close(): Promise<void>
}

/** Serves the workers on Node with the given bindings (local runs and tests). */
export async function serveWorkers(env: Bindings, port = 0, host = '127.0.0.1'): Promise<WorkerServer> {
  const server = createAdaptorServer({ fetch: (req: Request) => app.fetch(req, env) }) as Server
  server.on('connection', (socket) => socket.setNoDelay(true))
  await listen(server, port, host, 'workers HTTP')
  const actual = (server.address() as AddressInfo).port
  return {
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  serveWorkers(
    process.env as unknown as Bindings,
    Number(process.env.PORT ?? 8787),
    process.env.HOST ?? '127.0.0.1',
  ).then(
    (s) => console.log(`workers listening on ${s.url}`),
    (err: Error) => {
      console.error(err.message)
      process.exit(1)
    },
  )
}
