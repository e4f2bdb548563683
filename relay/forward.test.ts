import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import http from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { importJWK, jwtVerify } from 'jose'
import { generateKeys } from '../local/keys.ts'
import { freePort } from '../local/ports.ts'
import { Code, RELAY_TOKEN, WORKER_ANSWER_TYPE, bodyHash, type Delivery } from '../schema/index.ts'
import { forward, type ForwardOptions } from './forward.ts'
import { createSigner, type Signer } from './sign.ts'

/** What the fake worker saw of one call. */
interface Call {
  path: string
  body: Buffer
  claims: Record<string, unknown>
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, call: Call) => void | Promise<void>

const ndjson = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l) + '\n').join('')

describe('forward()', () => {
  let server: http.Server
  let workerUrl: string
  let sign: Signer
  let behaviour: Behaviour = (_req, res) => void res.writeHead(500).end()
  const calls: Call[] = []
  let connections = 0

  beforeAll(async () => {
    const keys = await generateKeys()
    sign = await createSigner(keys.relayPrivateJwk)
    const publicKey = await importJWK(JSON.parse(keys.relayPublicJwk), RELAY_TOKEN.alg)
    server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const body = Buffer.concat(chunks)
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''
      let claims: Record<string, unknown>
      try {
        ;({ payload: claims } = await jwtVerify(token, publicKey, {
          issuer: RELAY_TOKEN.issuer,
          audience: RELAY_TOKEN.audience,
          algorithms: [RELAY_TOKEN.alg],
        }))
        if (claims.bh !== (await bodyHash(body))) throw new Error('body hash mismatch')
        if (`/v1/actions/${String(claims.act)}` !== req.url) throw new Error('action mismatch')
      } catch (err) {
        // Deliberately not a pass-through code the tests expect, so a bad signature shows up.
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 401, message: `fake worker: ${(err as Error).message}`, data: null }))
        return
      }
      const call = { path: req.url ?? '', body, claims }
      calls.push(call)
      await behaviour(req, res, call)
    })
    server.on('connection', (s) => {
      connections++
      s.setNoDelay(true)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    workerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })

  /** A correctly signed forward() of `body` to the fake worker (or `url`). */
  async function call(
    opts: { body?: string; url?: string; timeoutMs?: number; onDelivery?: (d: Delivery) => void } = {},
  ) {
    const body = Buffer.from(opts.body ?? JSON.stringify({ action: 'msg.send_private', seq_id: '7', text: 'hi' }))
    const deliveries: Delivery[] = []
    const o: ForwardOptions = {
      url: opts.url ?? workerUrl,
      token: await sign({ action: 'msg.send_private', clientId: 'c1', seqId: '7', body }),
      action: 'msg.send_private',
      body,
      timeoutMs: opts.timeoutMs ?? 2_000,
      onDelivery: opts.onDelivery ?? ((d) => deliveries.push(d)),
    }
    const before = calls.length
    const reply = await forward(o)
    return { reply, deliveries, workerCalls: calls.slice(before) }
  }

  it('streams deliveries to onDelivery in order and returns the reply line', async () => {
    behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': `${WORKER_ANSWER_TYPE}; charset=utf-8` })
      res.end(
        ndjson([
          { kind: 'delivery', topic: 'mchat/inbox/a', payload: { n: 1 } },
          { kind: 'delivery', topic: 'mchat/group/g', payload: { n: 2 }, retain: true },
          { kind: 'delivery', topic: 'mchat/inbox/b', payload: { n: 3 } },
          { kind: 'reply', code: 0, message: 'ok', data: { id: 'm1' } },
        ]),
      )
    }
    const body = '{ "action":"msg.send_private",  "seq_id":"7", "text":"héllo ✓" }'
    const { reply, deliveries, workerCalls } = await call({ body })
    expect(reply).toEqual({ code: 0, message: 'ok', data: { id: 'm1' } })
    expect(deliveries).toEqual([
      { topic: 'mchat/inbox/a', payload: { n: 1 } },
      { topic: 'mchat/group/g', payload: { n: 2 }, retain: true },
      { topic: 'mchat/inbox/b', payload: { n: 3 } },
    ])
    // The worker got the exact bytes, on the action's route, signed for them.
    expect(workerCalls).toHaveLength(1)
    expect(workerCalls[0]!.path).toBe('/v1/actions/msg.send_private')
    expect(workerCalls[0]!.body.toString('utf8')).toBe(body)
    expect(workerCalls[0]!.claims).toMatchObject({ act: 'msg.send_private', cid: 'c1', seq: '7' })
  })

  it('reassembles lines split across chunks and skips blank lines', async () => {
    behaviour = async (_req, res) => {
      res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
      const text =
        '\n' +
        ndjson([
          { kind: 'delivery', topic: 'mchat/inbox/a', payload: 'é✓' },
          { kind: 'reply', code: 0, message: 'ok', data: 1 },
        ])
      const bytes = Buffer.from(text)
      for (let i = 0; i < bytes.length; i += 7) {
        res.write(bytes.subarray(i, i + 7))
        await sleep(1)
      }
      res.end()
    }
    const { reply, deliveries } = await call()
    expect(deliveries).toEqual([{ topic: 'mchat/inbox/a', payload: 'é✓' }])
    expect(reply).toEqual({ code: 0, message: 'ok', data: 1 })
  })

  it('passes a JSON 4xx error body through with its code and message', async () => {
    behaviour = (_req, res) => {
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 403, message: 'not your group', data: null }))
    }
    const { reply } = await call()
    expect(reply).toEqual({ code: Code.FORBIDDEN, message: 'not your group', data: null })
  })

  it('keeps the data of an error reply (a 429 says when to retry)', async () => {
    const data = { retry_after_ms: 1500, reset_at: '2026-01-01T00:00:01.500Z' }
    behaviour = (_req, res) => {
      res
        .writeHead(429, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 429, message: 'rate limit exceeded', data }))
    }
    expect((await call()).reply).toEqual({ code: Code.RATE_LIMITED, message: 'rate limit exceeded', data })
  })

  it('turns a worker 500 with a garbage body into code 500', async () => {
    behaviour = (_req, res) => void res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>')
    expect((await call()).reply).toMatchObject({ code: Code.INTERNAL, data: null })

    // Same when it claims JSON but is not.
    behaviour = (_req, res) => void res.writeHead(500, { 'content-type': 'application/json' }).end('{oops')
    expect((await call()).reply).toMatchObject({ code: Code.INTERNAL, data: null })
  })

  it('returns 503 when nothing listens on the worker port', async () => {
    const port = await freePort()
    const { reply } = await call({ url: `http://127.0.0.1:${port}` })
    expect(reply.code).toBe(Code.UNAVAILABLE)
    expect(reply.message).toMatch(/ECONNREFUSED/)
  })

  it('returns 504 when the worker is slower than timeoutMs', async () => {
    behaviour = async (_req, res) => {
      await sleep(1_000)
      if (!res.destroyed)
        res
          .writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
          .end(ndjson([{ kind: 'reply', code: 0, message: 'ok', data: null }]))
    }
    // The worker does answer (code 0) later: a 504 means forward() did not wait for it.
    const { reply } = await call({ timeoutMs: 200 })
    expect(reply.code).toBe(Code.TIMEOUT)
  })

  it('returns 504 when the worker stalls mid-stream, after the deliveries it already sent', async () => {
    behaviour = async (_req, res) => {
      res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
      res.write(ndjson([{ kind: 'delivery', topic: 'mchat/inbox/a', payload: 1 }]))
      await sleep(1_000)
      if (!res.destroyed) res.end(ndjson([{ kind: 'reply', code: 0, message: 'ok', data: null }]))
    }
    const { reply, deliveries } = await call({ timeoutMs: 200 })
    expect(reply.code).toBe(Code.TIMEOUT)
    expect(deliveries).toHaveLength(1) // already handed on: the client may see a delivery and a 504
  })

  it('returns 500 when the stream ends without a reply line', async () => {
    behaviour = (_req, res) => {
      res
        .writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
        .end(ndjson([{ kind: 'delivery', topic: 'mchat/inbox/a', payload: 1 }]))
    }
    const { reply, deliveries } = await call()
    expect(reply).toMatchObject({ code: Code.INTERNAL, message: 'worker answer ended without a reply' })
    expect(deliveries).toHaveLength(1)
  })

  it('returns 500 for a malformed answer line', async () => {
    behaviour = (_req, res) =>
      void res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE }).end('{"kind":"delivery"}\n')
    expect((await call()).reply.code).toBe(Code.INTERNAL)
  })

  it('hands a delivery on before the worker has written its reply', async () => {
    let replyWrittenAt = 0
    behaviour = async (_req, res) => {
      res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
      res.write(ndjson([{ kind: 'delivery', topic: 'mchat/inbox/a', payload: 'now' }]))
      await sleep(300)
      replyWrittenAt = performance.now()
      res.end(ndjson([{ kind: 'reply', code: 0, message: 'ok', data: null }]))
    }
    let deliveredAt = 0
    let replyWrittenWhenDelivered = true
    const { reply } = await call({
      onDelivery: () => {
        deliveredAt = performance.now()
        replyWrittenWhenDelivered = replyWrittenAt !== 0
      },
    })
    expect(reply.code).toBe(0)
    expect(replyWrittenWhenDelivered).toBe(false)
    expect(deliveredAt).toBeGreaterThan(0)
    expect(deliveredAt).toBeLessThan(replyWrittenAt)
  })
  it('keeps its connection to the worker across calls, also when the reply line arrives before the end of the answer', async () => {
    behaviour = async (_req, res) => {
      res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
      res.write(ndjson([{ kind: 'reply', code: 0, message: 'ok', data: null }]))
      await sleep(5)
      res.end()
    }
    await call() // may open a connection
    await sleep(50)
    const before = connections
    for (let i = 0; i < 5; i++) {
      expect((await call()).reply.code).toBe(0)
      // Time for the end of the answer to arrive, returning the connection to the pool.
      await sleep(50)
    }
    expect(connections).toBe(before)
  })

  it('calls a worker app in-process through `fetch`, streaming its answer the same way', async () => {
    const seen: string[] = []
    const fetch = async (url: string, init: RequestInit) => {
      seen.push(`${init.method} ${url} ${new Headers(init.headers).get('authorization')?.slice(0, 7)}`)
      return new Response(
        ndjson([
          { kind: 'delivery', topic: 'mchat/inbox/a', payload: 1 },
          { kind: 'reply', code: 0, message: 'ok', data: { in: 'process' } },
        ]),
        {
          headers: { 'content-type': WORKER_ANSWER_TYPE },
        },
      )
    }
    const deliveries: Delivery[] = []
    const body = Buffer.from('{"action":"msg.send_private"}')
    const reply = await forward({
      url: 'http://in-process',
      token: 't',
      action: 'msg.send_private',
      body,
      timeoutMs: 1_000,
      onDelivery: (d) => deliveries.push(d),
      fetch,
    })
    expect(reply).toEqual({ code: 0, message: 'ok', data: { in: 'process' } })
    expect(deliveries).toEqual([{ topic: 'mchat/inbox/a', payload: 1 }])
    expect(seen).toEqual(['POST http://in-process/v1/actions/msg.send_private Bearer '])
  })
})
