import { createServer, type Server } from 'node:http'
import { listen } from '../../local/ports.ts'
import { WORKER_ANSWER_TYPE } from '../../schema/index.ts'

export interface FakeWorker {
  url: string
  /** Requests it answered, by action path. */
  calls: number
  /** From now on: `ok` answers code 0 with `{who}`, `error` an HTTP 500. */
  behave(mode: 'ok' | 'error'): void
  close(): Promise<void>
}

/** A stand-in worker that says who it is: for routing and canary tests of the relay. */
export async function startFakeWorker(who: string, mode: 'ok' | 'error' = 'ok'): Promise<FakeWorker> {
  let calls = 0
  const server: Server = createServer((req, res) => {
    req.resume().on('end', () => {
      calls++
      if (mode === 'error') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')
      res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE }).end(JSON.stringify({ kind: 'reply', code: 0, message: 'ok', data: { who } }) + '\n')
    })
  })
  await listen(server, 0, '127.0.0.1', who)
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get calls() {
      return calls
    },
    behave: (m) => void (mode = m),
    close: () => new Promise((r) => server.close(() => r())),
  }
}
