import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { importJWK, jwtVerify } from 'jose'
import type { IClientOptions, MqttClient } from 'mqtt'
import { startEmbeddedBroker } from '../local/broker.ts'
import { generateKeys } from '../local/keys.ts'
import type { LocalKeys } from '../local/keys.ts'
import { freePort } from '../local/ports.ts'
import { startMosquitto } from '../test/support/mosquitto.ts'
import type { MosquittoProcess } from '../test/support/mosquitto.ts'
import { realServicesMissing } from '../test/support/services.ts'
import {
  Code,
  RELAY_TOKEN,
  WORKER_ANSWER_TYPE,
  bodyHash,
  replyFilter,
  replyTopic,
  requestTopic,
} from '../schema/index.ts'
import { RELAY_DEFAULTS, type RelayConfig } from './config.ts'
import type { RequestLogLine } from './log.ts'
import { startRelay, type Relay } from './relay.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const unique = (name: string): string => `${name}-${Math.random().toString(36).slice(2, 10)}`

/** Cleanup must not hang the file if the relay under test does: give up after `ms`. */
const bounded = (p: Promise<unknown> | undefined, ms = 4_000): Promise<unknown> =>
  Promise.race([p?.catch(() => {}), sleep(ms)])

/** Every relay test is seconds long; a hang should fail fast, not after the global 30 s. */
const SUITE = { timeout: 10_000 }

/** 'resolved' if `p` settles within `ms`, else 'hung' (so a hang fails fast with a clear message). */
const settlesWithin = (p: Promise<unknown>, ms: number): Promise<'resolved' | 'hung'> =>
  Promise.race([p.then(() => 'resolved' as const), sleep(ms).then(() => 'hung' as const)])

async function waitFor(what: string, cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

const connect = connectMqtt

interface Received {
  topic: string
  payload: Buffer
  at: number
}

/** Records every message a client gets, with the time it arrived. */
function record(client: MqttClient): Received[] {
  const got: Received[] = []
  client.on('message', (topic, payload) => got.push({ topic, payload, at: performance.now() }))
  return got
}

interface Reply {
  seq_id: string
  code: number
  message: string
  data: unknown
}

/** Publishes one request and waits for the reply on its mirrored topic. */
async function request(
  client: MqttClient,
  clientId: string,
  seqId: string,
  payload: string | Buffer,
  timeoutMs = 3_000,
): Promise<Reply> {
  const topic = replyTopic(clientId, seqId)
  await client.subscribeAsync(topic, { qos: 1 })
  const answer = new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`no reply on ${topic} within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (t: string, p: Buffer): void => {
      if (t !== topic) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve(JSON.parse(p.toString('utf8')) as Reply)
    }
    client.on('message', onMessage)
  })
  await client.publishAsync(requestTopic(clientId, seqId), payload, { qos: 1 })
  return answer
}

const envelope = (seqId: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ action: 'msg.send_private', seq_id: seqId, ...extra })

// ---------------------------------------------------------------------------------------------
// Fake worker: verifies the relay's token like a real worker does, then behaves as the request's
// `mode` says.
// ---------------------------------------------------------------------------------------------

interface WorkerCall {
  path: string
  body: Buffer
  claims: { act: string; cid: string; seq: string; bh: string; iat: number; exp: number }
  at: number
  /** Set when the worker wrote its reply line (mode `stream`). */
  replyWrittenAt?: number
}

interface FakeWorker {
  url: string
  calls: WorkerCall[]
  /** Calls whose token failed verification (must stay empty). */
  rejected: string[]
  callsFor(clientId: string): WorkerCall[]
  /** Highest number of simultaneous calls seen for a client_id. */
  maxConcurrent(clientId: string): number
  close(): Promise<void>
}

type Mode = 'echo' | 'stream' | 'slow' | 'hang' | 'forbidden' | 'wrong-seq' | 'late-delivery'

async function startFakeWorker(keys: LocalKeys): Promise<FakeWorker> {
  const publicKey = await importJWK(JSON.parse(keys.relayPublicJwk), RELAY_TOKEN.alg)
  const calls: WorkerCall[] = []
  const rejected: string[] = []
  const current = new Map<string, number>()
  const max = new Map<string, number>()

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    let claims: WorkerCall['claims']
    try {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      if (!token) throw new Error('no bearer token')
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: RELAY_TOKEN.issuer,
        audience: RELAY_TOKEN.audience,
        algorithms: [RELAY_TOKEN.alg],
        maxTokenAge: `${RELAY_TOKEN.maxAgeSeconds}s`,
      })
      claims = payload as WorkerCall['claims']
      if (claims.bh !== (await bodyHash(body))) throw new Error('bh does not match the body')
      if (req.url !== `/v1/actions/${claims.act}`) throw new Error(`act ${claims.act} does not match ${req.url}`)
    } catch (err) {
      rejected.push((err as Error).message)
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 401, message: 'bad token', data: null }))
      return
    }
    const call: WorkerCall = { path: req.url ?? '', body, claims, at: performance.now() }
    calls.push(call)
    const cid = claims.cid
    current.set(cid, (current.get(cid) ?? 0) + 1)
    max.set(cid, Math.max(max.get(cid) ?? 0, current.get(cid)!))
    res.once('close', () => current.set(cid, current.get(cid)! - 1))

    const request = JSON.parse(body.toString('utf8')) as { mode?: Mode; delay?: number }
    const line = (l: unknown): string => JSON.stringify(l) + '\n'
    const replyLine = line({ kind: 'reply', code: 0, message: 'ok', data: { handled: claims.seq, by: 'fake' } })
    res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
    switch (request.mode ?? 'echo') {
      case 'echo':
        res.write(line({ kind: 'delivery', topic: 'mchat/inbox/x', payload: { from: cid, seq: claims.seq } }))
        res.end(replyLine)
        return
      case 'stream':
        res.write(line({ kind: 'delivery', topic: 'mchat/inbox/x', payload: { from: cid, seq: claims.seq } }))
        await sleep(300)
        call.replyWrittenAt = performance.now()
        res.end(replyLine)
        return
      case 'slow':
        await sleep(request.delay ?? 150)
        res.end(replyLine)
        return
      case 'hang':
        await sleep(2_000)
        if (!res.destroyed) res.end(replyLine)
        return
      case 'late-delivery': // the delivery comes only after `delay` ms, then the reply
        res.flushHeaders()
        await sleep(request.delay ?? 300)
        if (res.destroyed) return
        res.write(line({ kind: 'delivery', topic: 'mchat/inbox/x', payload: { late: true } }))
        res.end(replyLine)
        return
      case 'wrong-seq': // a reply line carrying a seq_id of its own
        res.end(line({ kind: 'reply', seq_id: 'not-yours', code: 0, message: 'ok', data: { n: 1 } }))
        return
      case 'forbidden':
        res.write(line({ kind: 'delivery', topic: 'mchat/msg/resp/someone/1', payload: { forged: true } }))
        res.end(replyLine)
        return
    }
  })
  server.on('connection', (s: Socket) => s.setNoDelay(true))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    rejected,
    callsFor: (cid) => calls.filter((c) => c.claims.cid === cid),
    maxConcurrent: (cid) => max.get(cid) ?? 0,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Shared fixtures: one key pair and one fake worker for the file; relays and brokers per suite.
// ---------------------------------------------------------------------------------------------

let keys: LocalKeys
let worker: FakeWorker

beforeAll(async () => {
  keys = await generateKeys()
  worker = await startFakeWorker(keys)
})
afterAll(async () => {
  await worker?.close()
  // Every call the relay made carried a valid token for its exact body.
  expect(worker?.rejected).toEqual([])
})

interface RunningRelay {
  relay: Relay
  logs: RequestLogLine[]
  infos: string[]
}

async function relayOn(mqttUrl: string, overrides: Partial<RelayConfig> = {}): Promise<RunningRelay> {
  const logs: RequestLogLine[] = []
  const infos: string[] = []
  const config: RelayConfig = {
    ...RELAY_DEFAULTS,
    mqttUrl,
    shareGroup: '',
    clientId: unique('relay'),
    workerUrl: worker.url,
    privateKeyJwk: keys.relayPrivateJwk,
    workerTimeoutMs: 500,
    drainTimeoutMs: 3_000,
    ...overrides,
  }
  const relay = await startRelay(config, { log: (l) => logs.push(l), info: (m) => infos.push(m) })
  await relay.ready
  return { relay, logs, infos }
}

/** A fresh embedded broker with one relay and one client, torn down by the returned `close`. */
async function embeddedSetup(overrides: Partial<RelayConfig> = {}) {
  const broker = await startEmbeddedBroker({ mqttPort: 0 })
  const clients: MqttClient[] = []
  let running: RunningRelay | undefined
  const close = async (): Promise<void> => {
    await bounded(running?.relay.drain())
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await broker.close()
  }
  try {
    running = await relayOn(broker.url, overrides)
    const open = async (opts?: IClientOptions): Promise<MqttClient> => {
      const c = await connect(broker.url, opts)
      clients.push(c)
      return c
    }
    return { broker, ...running, client: await open(), open, close }
  } catch (err) {
    await close()
    throw err
  }
}

// ---------------------------------------------------------------------------------------------
// One relay on the embedded broker, default behaviour
// ---------------------------------------------------------------------------------------------

describe('relay on the embedded broker', SUITE, () => {
  let env: Awaited<ReturnType<typeof embeddedSetup>>

  beforeAll(async () => {
    env = await embeddedSetup({ maxRequestBytes: 1024, workerTimeoutMs: 800 })
  })
  afterAll(async () => {
    await env?.close()
  })

  it('signs and forwards a request, publishes the delivery, replies and logs without the payload', async () => {
    const inbox = await env.open()
    await inbox.subscribeAsync('mchat/inbox/x', { qos: 1 })
    const deliveries = record(inbox)
    const cid = unique('alice')
    // Odd spacing and non-ASCII: the worker must get these exact bytes, not a re-serialisation.
    const payload = Buffer.from(
      '{ "action" : "msg.send_private",\n  "seq_id":"s1", "text": "secret-text héllo ✓" }',
      'utf8',
    )

    const reply = await request(env.client, cid, 's1', payload)
    expect(reply).toEqual({ seq_id: 's1', code: 0, message: 'ok', data: { handled: 's1', by: 'fake' } })

    const [call, ...more] = worker.callsFor(cid)
    expect(more).toEqual([])
    expect(call!.path).toBe('/v1/actions/msg.send_private')
    expect(call!.body.equals(payload)).toBe(true)
    expect(call!.claims).toMatchObject({ act: 'msg.send_private', cid, seq: 's1', bh: await bodyHash(payload) })
    expect(call!.claims.exp - call!.claims.iat).toBe(RELAY_TOKEN.ttlSeconds)

    // The delivery was PUBACKed before the reply went out, so it has arrived (or is about to).
    await waitFor('the delivery', () => deliveries.length > 0, 1_000)
    expect(deliveries.map((d) => [d.topic, JSON.parse(d.payload.toString())])).toEqual([
      ['mchat/inbox/x', { from: cid, seq: 's1' }],
    ])

    await waitFor('the log line', () => env.logs.some((l) => l.client_id === cid))
    const line = env.logs.find((l) => l.client_id === cid)!
    expect(Object.keys(line).sort()).toEqual(['action', 'client_id', 'code', 'latency_ms', 'seq_id', 'variant'])
    expect(line).toMatchObject({ client_id: cid, seq_id: 's1', action: 'msg.send_private', code: 0, variant: 'stable' })
    expect(typeof line.latency_ms).toBe('number')
    expect(line.latency_ms).toBeGreaterThanOrEqual(0)
    expect(JSON.stringify(line)).not.toMatch(/secret-text|héllo/)
  })

  it('publishes a delivery as soon as the worker streams it, before the worker writes its reply', async () => {
    const inbox = await env.open()
    await inbox.subscribeAsync('mchat/inbox/x', { qos: 1 })
    const deliveries = record(inbox)
    const cid = unique('bob')
    let replyAt = 0
    const reply = await request(env.client, cid, 's1', envelope('s1', { mode: 'stream' })).then(
      (r) => ((replyAt = performance.now()), r),
    )
    expect(reply.code).toBe(0)
    const delivery = deliveries.find((d) => JSON.parse(d.payload.toString()).from === cid)
    expect(delivery).toBeDefined()
    const call = worker.callsFor(cid)[0]!
    expect(call.replyWrittenAt).toBeDefined()
    expect(delivery!.at).toBeLessThan(call.replyWrittenAt!)
    expect(delivery!.at).toBeLessThan(replyAt)
  })

  it('answers a payload that is not JSON with 400', async () => {
    const cid = unique('c')
    const reply = await request(env.client, cid, '1', '{not json')
    expect(reply).toEqual({ seq_id: '1', code: Code.BAD_REQUEST, message: 'payload is not valid JSON', data: null })
    expect(worker.callsFor(cid)).toEqual([])
  })

  it('answers a JSON array with 400', async () => {
    const cid = unique('c')
    const reply = await request(env.client, cid, '1', '[{"action":"msg.send_private"}]')
    expect(reply).toMatchObject({ seq_id: '1', code: Code.BAD_REQUEST, data: null })
    expect(reply.message).toMatch(/object/)
    expect(worker.callsFor(cid)).toEqual([])
  })

  it('answers a payload seq_id that differs from the topic with 400 naming seq_id', async () => {
    const cid = unique('c')
    const reply = await request(env.client, cid, 'topic-seq', envelope('other-seq'))
    expect(reply).toMatchObject({ seq_id: 'topic-seq', code: Code.BAD_REQUEST, data: null })
    expect(reply.message).toMatch(/seq_id/)
    expect(worker.callsFor(cid)).toEqual([])
  })

  it('answers an unknown action with 404 without calling any worker', async () => {
    const cid = unique('c')
    const before = worker.calls.length
    const reply = await request(env.client, cid, '1', JSON.stringify({ action: 'no.such_action', seq_id: '1' }))
    expect(reply).toMatchObject({ seq_id: '1', code: Code.NOT_FOUND, data: null })
    expect(reply.message).toMatch(/no\.such_action/)
    expect(worker.calls.length).toBe(before)
    await waitFor('the log line', () => env.logs.some((l) => l.client_id === cid))
    expect(env.logs.find((l) => l.client_id === cid)).toMatchObject({ action: 'no.such_action', code: Code.NOT_FOUND })
  })

  it('answers a payload over maxRequestBytes with 413', async () => {
    const cid = unique('c')
    const reply = await request(env.client, cid, '1', envelope('1', { pad: 'x'.repeat(2_000) }))
    expect(reply).toMatchObject({ seq_id: '1', code: Code.PAYLOAD_TOO_LARGE, data: null })
    expect(worker.callsFor(cid)).toEqual([])
  })

  it('answers a too-long client_id with 400 on the mirrored reply topic', async () => {
    const cid = 'c'.repeat(200)
    const reply = await request(env.client, cid, '1', envelope('1'))
    expect(reply).toMatchObject({ seq_id: '1', code: Code.BAD_REQUEST, data: null })
    expect(reply.message).toMatch(/client_id/)
    expect(worker.callsFor(cid)).toEqual([])
    await waitFor('the log line', () => env.logs.some((l) => l.client_id === cid))
    expect(env.logs.find((l) => l.client_id === cid)).toMatchObject({ action: '-', code: Code.BAD_REQUEST })
  })

  it('answers 504 when the worker is slower than workerTimeoutMs', async () => {
    const cid = unique('c')
    // 'hang' does answer code 0 after 2 s: a 504 means the relay did not wait for it.
    const reply = await request(env.client, cid, '1', envelope('1', { mode: 'hang' }))
    expect(reply).toMatchObject({ seq_id: '1', code: Code.TIMEOUT, data: null })
    expect(worker.callsFor(cid)).toHaveLength(1)
  })

  it('never publishes a delivery outside the delivery namespaces; the worker’s reply still goes out', async () => {
    const spy = await env.open()
    await spy.subscribeAsync('#', { qos: 1 })
    const seen = record(spy)
    const cid = unique('mallory')
    const reply = await request(env.client, cid, '1', envelope('1', { mode: 'forbidden' }))
    // The refused line is dropped (and reported through `info`); the rest of the answer stands.
    expect(reply).toMatchObject({ seq_id: '1', code: 0, data: { handled: '1' } })
    expect(worker.callsFor(cid)).toHaveLength(1)
    await waitFor('the spy to see the reply', () => seen.some((m) => m.topic === replyTopic(cid, '1')))
    await sleep(200)
    expect(seen.map((m) => m.topic)).not.toContain('mchat/msg/resp/someone/1')
  })

  it('addresses the reply with the topic seq_id even if the worker reply line carries another', async () => {
    const cid = unique('c')
    const reply = await request(env.client, cid, 'mine', envelope('mine', { mode: 'wrong-seq' }))
    expect(reply).toEqual({ seq_id: 'mine', code: 0, message: 'ok', data: { n: 1 } })
  })

  it('answers every one of 100 concurrent requests exactly once', async () => {
    const cid = unique('burst')
    await env.client.subscribeAsync(replyFilter(cid), { qos: 1 })
    const counts = new Map<string, number>()
    const replies: Reply[] = []
    const misaddressed: string[] = []
    env.client.on('message', (topic, payload) => {
      if (!topic.startsWith(`mchat/msg/resp/${cid}/`)) return
      const r = JSON.parse(payload.toString()) as Reply
      replies.push(r)
      counts.set(r.seq_id, (counts.get(r.seq_id) ?? 0) + 1)
      if (topic !== replyTopic(cid, r.seq_id)) misaddressed.push(topic)
    })
    const seqs = Array.from({ length: 100 }, (_, i) => `q${i}`)
    await Promise.all(seqs.map((s) => env.client.publishAsync(requestTopic(cid, s), envelope(s), { qos: 1 })))
    await waitFor('100 replies', () => counts.size === 100, 5_000)
    await sleep(300) // room for a duplicate to show up
    expect([...counts.keys()].sort()).toEqual([...seqs].sort())
    expect([...counts.values()].every((n) => n === 1)).toBe(true)
    expect(replies.every((r) => r.code === 0 && (r.data as { handled: string }).handled === r.seq_id)).toBe(true)
    expect(misaddressed).toEqual([])
    expect(worker.callsFor(cid)).toHaveLength(100)
  })
})

// ---------------------------------------------------------------------------------------------
// Relays with their own configuration (each on its own embedded broker: without $share every
// subscribed relay would answer every request)
// ---------------------------------------------------------------------------------------------

describe('relay configuration and lifecycle (embedded broker)', SUITE, () => {
  it('answers 503 when the worker is down', async () => {
    const env = await embeddedSetup({ workerUrl: `http://127.0.0.1:${await freePort()}` })
    try {
      const reply = await request(env.client, unique('c'), '1', envelope('1'))
      expect(reply).toMatchObject({ seq_id: '1', code: Code.UNAVAILABLE, data: null })
    } finally {
      await env.close()
    }
  })

  it('bounds the requests in flight by maxInFlight and still answers them all', async () => {
    const env = await embeddedSetup({ maxInFlight: 3 })
    try {
      const cid = unique('bounded')
      await env.client.subscribeAsync(replyFilter(cid), { qos: 1 })
      const answered = new Set<string>()
      env.client.on('message', (topic) => topic.startsWith(`mchat/msg/resp/${cid}/`) && answered.add(topic))
      const seqs = Array.from({ length: 12 }, (_, i) => `b${i}`)
      await Promise.all(
        seqs.map((s) =>
          env.client.publishAsync(requestTopic(cid, s), envelope(s, { mode: 'slow', delay: 150 }), { qos: 1 }),
        ),
      )
      await waitFor('12 replies', () => answered.size === 12, 3_000)
      expect(worker.maxConcurrent(cid)).toBeGreaterThan(1) // concurrent, not serialised
      expect(worker.maxConcurrent(cid)).toBeLessThanOrEqual(4)
      expect(worker.callsFor(cid)).toHaveLength(12)
    } finally {
      await env.close()
    }
  })

  it('drain gives up after drainTimeoutMs on a request still in the worker; a second drain() resolves too', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const env = await embeddedSetup({ drainTimeoutMs: 200, workerTimeoutMs: 2_000 })
    try {
      const cid = unique('late')
      await env.client.publishAsync(requestTopic(cid, '1'), envelope('1', { mode: 'late-delivery', delay: 600 }), {
        qos: 1,
      })
      await waitFor('the worker call', () => worker.callsFor(cid).length === 1)
      expect(await settlesWithin(env.relay.drain(), 600)).toBe('resolved')
      expect(env.relay.inFlight()).toBe(1) // abandoned in the worker
      // The worker's late delivery line reaches a relay that has let go: its publish is stuck
      // in the ended client, but nothing blows up...
      await sleep(800)
      expect(unhandled).toEqual([])
      // ...and draining again (SIGTERM then SIGINT, or a test's drain then local/start's stop()) returns.
      expect(await settlesWithin(env.relay.drain(), 1_000)).toBe('resolved')
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await env.close()
    }
  })

  it('drain finishes the requests in flight, answering (not dropping) one that arrives meanwhile', async () => {
    const env = await embeddedSetup()
    try {
      const cid = unique('drain')
      await env.client.subscribeAsync(replyFilter(cid), { qos: 1 })
      const answered = new Set<string>()
      env.client.on('message', (topic) => topic.startsWith(`mchat/msg/resp/${cid}/`) && answered.add(topic))
      for (const s of ['d1', 'd2', 'd3'])
        await env.client.publishAsync(requestTopic(cid, s), envelope(s, { mode: 'slow', delay: 500 }), { qos: 1 })
      await waitFor('the worker to have the 3 requests', () => worker.callsFor(cid).length === 3)
      expect(env.relay.inFlight()).toBe(3)

      let answeredWhenDrained = -1
      const drained = env.relay.drain().then(() => (answeredWhenDrained = answered.size))
      await sleep(100) // drain has started; a lone relay stays subscribed (no other member to take over)
      await env.client.publishAsync(requestTopic(cid, 'late'), envelope('late'), { qos: 1 })
      expect(answered.size).toBe(0) // still in the worker
      await drained
      // Drain resolved only once everything it had received was answered, the late one included.
      expect(answeredWhenDrained).toBe(4)
      expect(answered.has(replyTopic(cid, 'late'))).toBe(true)
      expect(env.relay.inFlight()).toBe(0)
      expect(
        worker
          .callsFor(cid)
          .map((c) => c.claims.seq)
          .sort(),
      ).toEqual(['d1', 'd2', 'd3', 'late'])
    } finally {
      await env.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Persistent session: requests published while the relay is down are answered when it comes back
// ---------------------------------------------------------------------------------------------

/** A TCP proxy in front of a broker, so a test can cut a relay off as if it had crashed. */
async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>()
  const server = net.createServer({ noDelay: true }, (inbound) => {
    const outbound = net.connect({ port: targetPort, host: '127.0.0.1', noDelay: true })
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.once('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  let closed: Promise<void> | null = null
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Stops listening and drops every connection, so the relay cannot come back through it. */
    cut: () =>
      (closed ??= new Promise<void>((r) => {
        server.close(() => r())
        for (const s of sockets) s.destroy()
      })),
  }
}

function sessionSuite(name: string, start: () => Promise<{ url: string; port: number; close: () => Promise<void> }>) {
  describe(`persistent session (${name})`, SUITE, () => {
    let broker: { url: string; port: number; close: () => Promise<void> }
    beforeAll(async () => {
      broker = await start()
    })
    afterAll(async () => {
      await broker?.close()
    })

    it('answers, after a restart under the same clientId, a request published while the relay was gone', async () => {
      const relayId = unique('relay-fixed')
      const client = await connect(broker.url)
      const proxy = await startProxy(broker.port)
      let first: RunningRelay | undefined
      let second: RunningRelay | undefined
      try {
        first = await relayOn(proxy.url, { clientId: relayId })
        const cid = unique('offline')
        // Sanity: the first relay serves.
        expect((await request(client, cid, 'before', envelope('before'))).code).toBe(0)

        // Logged once its reply was PUBACKed: nothing of it is left in flight when the relay goes.
        await waitFor('the first log line', () => first!.logs.some((l) => l.client_id === cid))

        // The relay "crashes": its connection drops without UNSUBSCRIBE; the broker keeps its session.
        await proxy.cut()
        await first.relay.drain() // only to stop its reconnect timer; it cannot reach the broker any more
        await sleep(100) // let the broker notice the disconnect

        const answer = request(client, cid, 'while-down', envelope('while-down'), 4_000)
        await sleep(200)
        expect(worker.callsFor(cid).map((c) => c.claims.seq)).toEqual(['before'])

        second = await relayOn(broker.url, { clientId: relayId })
        expect(await answer).toMatchObject({ seq_id: 'while-down', code: 0 })
        await waitFor('the log line', () => second!.logs.some((l) => l.client_id === cid && l.seq_id === 'while-down'))
      } finally {
        await bounded(second?.relay.drain())
        await bounded(first?.relay.drain())
        await proxy.cut()
        await client.endAsync(true)
      }
    })

    it('a request the relay had taken but not answered when it died is answered after a restart under the same clientId', async () => {
      const relayId = unique('relay-crash')
      const client = await connect(broker.url)
      const proxy = await startProxy(broker.port)
      let first: RunningRelay | undefined
      let second: RunningRelay | undefined
      try {
        first = await relayOn(proxy.url, { clientId: relayId, drainTimeoutMs: 100 })
        const cid = unique('taken')
        const answer = request(client, cid, 'in-worker', envelope('in-worker', { mode: 'slow', delay: 300 }), 6_000)
        await waitFor('the worker call', () => worker.callsFor(cid).length === 1)
        // The relay dies with the request in the worker: it must not have acknowledged it yet.
        await proxy.cut()
        await first.relay.drain()
        await sleep(400) // the worker has answered the dead relay by now
        expect(first.logs.filter((l) => l.client_id === cid)).toEqual([])

        second = await relayOn(broker.url, { clientId: relayId })
        expect(await answer).toMatchObject({ seq_id: 'in-worker', code: 0 })
        // Served twice (at least once); a real worker answers the repeat from its stored reply.
        expect(worker.callsFor(cid)).toHaveLength(2)
      } finally {
        await bounded(second?.relay.drain())
        await bounded(first?.relay.drain())
        await proxy.cut()
        await client.endAsync(true)
      }
    })

    it('drain() resolves within drainTimeoutMs when the broker is gone with a reply still unacknowledged', async () => {
      const client = await connect(broker.url)
      const proxy = await startProxy(broker.port)
      let relay: RunningRelay | undefined
      try {
        relay = await relayOn(proxy.url, { drainTimeoutMs: 400 })
        const cid = unique('stranded')
        await client.publishAsync(requestTopic(cid, '1'), envelope('1', { mode: 'slow', delay: 200 }), { qos: 1 })
        await waitFor('the worker call', () => worker.callsFor(cid).length === 1)
        await proxy.cut() // its reply can now never be PUBACKed
        await sleep(300)
        expect(relay.relay.inFlight()).toBe(1)
        expect(await settlesWithin(relay.relay.drain(), 1_500)).toBe('resolved')
      } finally {
        await bounded(relay?.relay.drain())
        await proxy.cut()
        await client.endAsync(true)
      }
    })

    it('a lone relay stays subscribed through drain(): a request published while it is down is answered after restart', async () => {
      const relayId = unique('relay-drained')
      const client = await connect(broker.url)
      let first: RunningRelay | undefined
      let second: RunningRelay | undefined
      try {
        first = await relayOn(broker.url, { clientId: relayId })
        await first.relay.drain()
        const cid = unique('offline')
        const answer = request(client, cid, 'while-down', envelope('while-down'), 5_000)
        await sleep(200)
        expect(worker.callsFor(cid)).toEqual([])
        second = await relayOn(broker.url, { clientId: relayId })
        expect(await answer).toMatchObject({ seq_id: 'while-down', code: 0 })
        expect(worker.callsFor(cid)).toHaveLength(1)
      } finally {
        await bounded(second?.relay.drain())
        await client.endAsync(true)
      }
    })
  })
}

sessionSuite('embedded aedes', async () => {
  const b = await startEmbeddedBroker({ mqttPort: 0 })
  return { url: b.url, port: b.mqttPort, close: () => b.close() }
})

describe.skipIf(realServicesMissing('mosquitto'))('on real Mosquitto', () => {
  sessionSuite('Mosquitto', async () => {
    const m = await startMosquitto()
    return { url: m.url, port: m.port, close: () => m.stop() }
  })

  describe('two relays in one share group', SUITE, () => {
    let mosquitto: MosquittoProcess
    beforeAll(async () => {
      mosquitto = await startMosquitto()
    })
    afterAll(async () => {
      await mosquitto?.stop()
    })

    it('answers each of 50 requests exactly once, spread over both relays', async () => {
      const a = await relayOn(mosquitto.url, { shareGroup: 'gateway', clientId: unique('relay-a') })
      const b = await relayOn(mosquitto.url, { shareGroup: 'gateway', clientId: unique('relay-b') })
      const client = await connect(mosquitto.url)
      try {
        expect(a.infos.join('\n')).toMatch(/subscribed \$share\/gateway\/mchat\/msg\/req\/\+\/\+/)
        const cid = unique('shared')
        await client.subscribeAsync(replyFilter(cid), { qos: 1 })
        const counts = new Map<string, number>()
        client.on('message', (topic, payload) => {
          if (!topic.startsWith(`mchat/msg/resp/${cid}/`)) return
          const r = JSON.parse(payload.toString()) as Reply
          counts.set(r.seq_id, (counts.get(r.seq_id) ?? 0) + 1)
        })
        const seqs = Array.from({ length: 50 }, (_, i) => `g${i}`)
        await Promise.all(seqs.map((s) => client.publishAsync(requestTopic(cid, s), envelope(s), { qos: 1 })))
        await waitFor('50 replies', () => counts.size === 50, 5_000)
        await sleep(300)
        expect([...counts.values()].every((n) => n === 1)).toBe(true)
        expect(worker.callsFor(cid)).toHaveLength(50)

        await waitFor('50 log lines', () => a.logs.length + b.logs.length === 50)
        const byA = a.logs.filter((l) => l.client_id === cid).length
        const byB = b.logs.filter((l) => l.client_id === cid).length
        expect(byA + byB).toBe(50)
        expect(byA).toBeGreaterThan(0)
        expect(byB).toBeGreaterThan(0)

        // A draining member leaves the group: from then on the other one serves everything.
        await a.relay.drain()
        const after = Array.from({ length: 10 }, (_, i) => `h${i}`)
        await Promise.all(after.map((s) => client.publishAsync(requestTopic(cid, s), envelope(s), { qos: 1 })))
        await waitFor('10 more replies', () => counts.size === 60, 5_000)
        await waitFor('10 more log lines', () => b.logs.filter((l) => l.client_id === cid).length === byB + 10)
        expect(a.logs.filter((l) => l.client_id === cid)).toHaveLength(byA)
      } finally {
        await Promise.all([bounded(a.relay.drain()), bounded(b.relay.drain())])
        await client.endAsync(true)
      }
    })
  })
})
