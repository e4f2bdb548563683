import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { startUpstashEndpoint, type UpstashEndpoint } from '../../local/upstash-endpoint.ts'
import { freePort, listen } from '../../local/ports.ts'
import { isoTime } from '../../schema/index.ts'
import { createAndBind, nextSeq, readAnswer } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { realRedisUrl, realServicesMissing } from '../../test/support/services.ts'
import { app } from '../app.ts'
import type { Bindings } from '../env.ts'

const s = workerSuite()
let n = 0

async function callWith(
  env: Bindings,
  action: string,
  clientId: string,
  payload: Record<string, unknown>,
  seq = nextSeq(),
) {
  return readAnswer(await app.request(await s.h.request(action, clientId, seq, payload), undefined, env))
}

/** Bindings with tight limits in a namespace of their own; one-hour windows keep the count exact. */
function limited(limiter: { url: string; token: string }, extra: Partial<Bindings> = {}): Bindings {
  return {
    ...s.h.env,
    UPSTASH_REDIS_REST_URL: limiter.url,
    UPSTASH_REDIS_REST_TOKEN: limiter.token,
    RATE_LIMIT_PREFIX: `rl-test-${Date.now().toString(36)}-${n++}`,
    RATE_LIMIT_MESSAGE: '3/1h',
    RATE_LIMIT_MANAGEMENT: '2/1h',
    ...extra,
  }
}

const backends: Array<[string, () => Promise<UpstashEndpoint>]> = [
  ['the in-process stand-in (npm start without Redis)', () => startUpstashEndpoint({ token: 'embedded-token' })],
]
if (realServicesMissing('redis') === null)
  backends.push(['real Redis', () => startUpstashEndpoint({ redisUrl: realRedisUrl, token: 'redis-token' })])

describe.each(backends)('rate limits through %s', (_name, start) => {
  let limiter: UpstashEndpoint
  afterAll(async () => limiter?.close())

  it('allows the configured number per employee and class, then 429 with when to retry', async () => {
    limiter ??= await start()
    const env = limited(limiter)
    const a = await createAndBind(app, s.h, s.admin, { name: 'Chatty' })
    const b = await createAndBind(app, s.h, s.admin, { name: 'Quiet' })
    for (let i = 0; i < 3; i++) {
      expect(
        (await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: b.employee_id, content: `m${i}` })).reply
          .code,
      ).toBe(0)
    }
    const seq = nextSeq()
    const over = await callWith(
      env,
      'msg.send_private',
      a.clientId,
      { to_employee_id: b.employee_id, content: 'one too many' },
      seq,
    )
    expect([over.status, over.reply.code, over.deliveries]).toEqual([429, 429, []])
    expect(over.reply.message).toMatch(/rate limit exceeded/)
    expect(over.reply.data.retry_after_ms).toBeGreaterThan(0)
    expect(isoTime.safeParse(over.reply.data.reset_at).success).toBe(true)
    // Not admitted: nothing kept for that seq_id, so a later retry is a new request.
    const kept = await s.h.db.query('SELECT 1 FROM request_reply WHERE client_id = $1 AND seq_id = $2', [
      a.clientId,
      seq,
    ])
    expect(kept.rows).toHaveLength(0)

    // Another employee, and another class of the same employee, are counted apart.
    expect(
      (await callWith(env, 'msg.send_private', b.clientId, { to_employee_id: a.employee_id, content: 'hi' })).reply
        .code,
    ).toBe(0)
    expect((await callWith(env, 'org.tree', a.clientId, {})).reply.code).toBe(0)
    expect((await callWith(env, 'org.tree', a.clientId, {})).reply.code).toBe(0)
    expect((await callWith(env, 'org.tree', a.clientId, {})).reply.code).toBe(429)
  })

  it('a repeat of an answered request is replayed even over the limit', async () => {
    limiter ??= await start()
    const env = limited(limiter)
    const a = await createAndBind(app, s.h, s.admin, { name: 'Retrier' })
    const seq = nextSeq()
    const first = await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: 'admin', content: 'x' }, seq)
    for (let i = 0; i < 3; i++)
      await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: 'admin', content: `y${i}` })
    const again = await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: 'admin', content: 'x' }, seq)
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
  })

  it('limits auth.bind per employee (password guessing) and management actions of the general path', async () => {
    limiter ??= await start()
    const env = limited(limiter)
    const a = await createAndBind(app, s.h, s.admin, { name: 'Guessed' })
    const codes = []
    for (let i = 0; i < 3; i++)
      codes.push(
        (await callWith(env, 'auth.bind', `${a.employee_id}.x${i}`, { mqtt_password: `wrong-${i}` })).reply.code,
      )
    expect(codes).toEqual([401, 401, 429])
  })

  it('underscore-form client ids count against their employee: devices share one budget, guesses too', async () => {
    limiter ??= await start()
    const env = limited(limiter)
    const a = await createAndBind(app, s.h, s.admin, { name: 'Many Devices' })
    for (const device of ['p1', 'p2'])
      expect(
        (await callWith(s.h.env, 'auth.bind', `${a.employee_id}_${device}`, { mqtt_password: a.password })).reply.code,
      ).toBe(0)
    const send = (cid: string) =>
      callWith(env, 'msg.send_private', cid, { to_employee_id: 'admin', content: 'x' }).then((r) => r.reply.code)
    const codes = [
      await send(a.clientId),
      await send(`${a.employee_id}_p1`),
      await send(`${a.employee_id}_p2`),
      await send(`${a.employee_id}_p1`),
    ]
    expect(codes).toEqual([0, 0, 0, 429])
    const guesses = []
    for (let i = 0; i < 3; i++)
      guesses.push(
        (await callWith(env, 'auth.bind', `${a.employee_id}_g${i}`, { mqtt_password: `wrong-${i}` })).reply.code,
      )
    expect(guesses).toEqual([401, 401, 429])
  })
})

describe('when the limiter cannot answer', () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  let hanging: Server
  afterEach(() => warn.mockClear())
  afterAll(async () => {
    warn.mockRestore()
    hanging?.closeAllConnections()
    await new Promise((r) => hanging?.close(r))
  })

  const unavailable = () =>
    warn.mock.calls.map((c) => JSON.parse(String(c[0]))).filter((l) => l.event === 'ratelimit_unavailable')

  it('unreachable: the default policy lets the request through and logs one line per event', async () => {
    const env = limited({ url: `http://127.0.0.1:${await freePort()}`, token: 'x' })
    const a = await createAndBind(app, s.h, s.admin, { name: 'Open' })
    expect(
      (await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: 'admin', content: 'x' })).reply.code,
    ).toBe(0)
    expect((await callWith(env, 'org.tree', a.clientId, {})).reply.code).toBe(0)
    expect(unavailable().map((l) => [l.policy, l.action])).toEqual([
      ['open', 'msg.send_private'],
      ['open', 'org.tree'],
    ])
  })

  it('unreachable under RATE_LIMIT_ON_ERROR=closed: 503, and the message action stores nothing', async () => {
    const env = limited({ url: `http://127.0.0.1:${await freePort()}`, token: 'x' }, { RATE_LIMIT_ON_ERROR: 'closed' })
    const a = await createAndBind(app, s.h, s.admin, { name: 'Closed' })
    const seq = nextSeq()
    const r = await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: 'admin', content: 'x' }, seq)
    expect([r.reply.code, r.reply.message]).toEqual([503, 'rate limiter unavailable; retry later'])
    expect(
      (await s.h.db.query('SELECT 1 FROM request_reply WHERE client_id = $1 AND seq_id = $2', [a.clientId, seq])).rows,
    ).toHaveLength(0)
    expect((await callWith(env, 'org.tree', a.clientId, {})).reply.code).toBe(503)
    expect(unavailable().map((l) => l.policy)).toEqual(['closed', 'closed'])
  })

  it('a store that never answers is given up on after RATE_LIMIT_TIMEOUT_MS and the policy applies', async () => {
    hanging = createServer(() => {}) // accepts and never answers
    const port = await freePort()
    await listen(hanging, port, '127.0.0.1', 'hanging store')
    const env = limited({ url: `http://127.0.0.1:${port}`, token: 'x' }, { RATE_LIMIT_TIMEOUT_MS: '50' })
    const a = await createAndBind(app, s.h, s.admin, { name: 'Slow' })
    expect(
      (await callWith(env, 'msg.send_private', a.clientId, { to_employee_id: 'admin', content: 'x' })).reply.code,
    ).toBe(0)
    expect(unavailable()).toHaveLength(1)
  })
})
