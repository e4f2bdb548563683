import { createServer, type Server } from 'node:http'
import { listen } from '../../local/ports.ts'
import { WORKER_ANSWER_TYPE } from '../../schema/index.ts'

/**
 * `ok` answers code 0 with `{who}`, `error` an HTTP 500, `hang` never answers, `deliver-then-error`
 * streams one delivery (to mchat/inbox/fake) and then breaks the connection.
 */
export type Mode = 'ok' | 'error' | 'hang' | 'deliver-then-error'

export interface FakeWorker {
  url: string
  /** Requests it answered, by action path. */
  calls: number
  /** From now on answers as `mode` says. */
  behave(mode: Mode): void
  /** From now on `ok` answers only after `ms`. */
  delay(ms: number): void
  /** Down: stops listening and drops every connection, hanging requests included. */
  stop(): Promise<void>
  /** Up again, on the same port. */
  start(): Promise<void>
  close(): Promise<void>
}

/** A stand-in worker that says who it is: for routing and canary tests of the relay. */
export async function startFakeWorker(who: string, mode: Mode = 'ok'): Promise<FakeWorker> {
  let calls = 0
  let delayMs = 0
  const serve = (): Server =>
    createServer((req, res) => {
      req.resume().on('end', () => {
        calls++
        if (mode === 'hang') return
        if (mode === 'error') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')
        if (mode === 'deliver-then-error') {
          res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
          res.write(JSON.stringify({ kind: 'delivery', topic: 'mchat/inbox/fake', payload: { who } }) + '\n')
          return void setTimeout(() => res.destroy(), 20)
        }
        const answer = () =>
          res
            .writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
            .end(JSON.stringify({ kind: 'reply', code: 0, message: 'ok', data: { who } }) + '\n')
        if (delayMs > 0) setTimeout(() => !res.destroyed && answer(), delayMs)
        else answer()
      })
    })
  let server = serve()
  const port = await listen(server, 0, '127.0.0.1', who)
  const stop = () =>
    new Promise<void>((r) => {
      if (!server.listening) return r()
      server.close(() => r())
      server.closeAllConnections()
    })
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return calls
    },
    behave: (m) => void (mode = m),
    delay: (ms) => void (delayMs = ms),
    stop,
    async start() {
      if (server.listening) return
      server = serve()
      await listen(server, port, '127.0.0.1', who)
    },
    close: stop,
  }
}
