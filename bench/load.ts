import type { MqttClient } from 'mqtt'
import { requestTopic, REPLY_PREFIX, replyFilter } from '../schema/index.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { now } from './stats.ts'

/**
 * The load generator: MQTT clients that publish requests and time their replies. It runs in a
 * child process of its own, as clients run on other machines, so it never shares an event loop
 * with the relay or the responder it measures.
 */

export interface LoadClientSpec {
  clientId: string
  /** The request body this client sends (one JSON object). */
  payload: string
  /** Extra subscriptions, e.g. the client's own inbox, as a real client would hold. */
  subscribe?: string[]
  /** The employee's MQTT login, for a broker that checks them (the embedded one). */
  username?: string
  password?: string
}

interface LoadClient {
  client: MqttClient
  clientId: string
  payload: string
  pending: Map<string, (reply: Reply) => void>
}

interface Reply {
  code: number
  data: unknown
  at: number
}

export interface Run {
  /** Latencies in ms of the requests that count (after warm-up). */
  latencies: number[]
  /** Requests answered in the measured window, per second. */
  throughput: number
  seconds: number
  /** Replies by code; 0 is success. */
  codes: Record<string, number>
  /** Requests without a reply when the run ended. */
  lost: number
  sent: number
}

const clients: LoadClient[] = []
let seq = 0
const tag = `b${process.pid.toString(36)}x`

export async function connect(url: string, specs: LoadClientSpec[]): Promise<number> {
  await Promise.all(
    specs.map(async (s) => {
      const login = s.username
        ? { username: s.username, ...(s.password !== undefined && { password: s.password }) }
        : {}
      const client = await connectMqtt(url, { clientId: s.clientId, protocolVersion: 4, clean: true, ...login })
      const c: LoadClient = { client, clientId: s.clientId, payload: s.payload, pending: new Map() }
      client.on('message', (topic, buf) => {
        if (!topic.startsWith(REPLY_PREFIX)) return
        const seqId = topic.slice(topic.lastIndexOf('/') + 1)
        const done = c.pending.get(seqId)
        if (!done) return
        const at = now()
        c.pending.delete(seqId)
        const r = JSON.parse(buf.toString('utf8')) as { code: number; data: unknown }
        done({ code: r.code, data: r.data, at })
      })
      await client.subscribeAsync([replyFilter(s.clientId), ...(s.subscribe ?? [])], { qos: 1 })
      clients.push(c)
    }),
  )
  return clients.length
}

/** Publishes one request and resolves with its reply; `sentAt` is taken just before publishing. */
function send(c: LoadClient, payload = c.payload): { sentAt: number; reply: Promise<Reply> } {
  const seqId = `${tag}${(seq++).toString(36)}`
  const reply = new Promise<Reply>((resolve) => c.pending.set(seqId, resolve))
  const sentAt = now()
  c.client.publish(requestTopic(c.clientId, seqId), payload, { qos: 1 })
  return { sentAt, reply }
}

function count(codes: Record<string, number>, code: number): void {
  codes[code] = (codes[code] ?? 0) + 1
}

/** One request at a time from the first client: latency without queueing. */
export async function sequential(o: { n: number; warmup: number }): Promise<Run> {
  const c = clients[0]!
  const latencies: number[] = []
  const codes: Record<string, number> = {}
  let started = 0
  for (let i = 0; i < o.warmup + o.n; i++) {
    if (i === o.warmup) started = now()
    const { sentAt, reply } = send(c)
    const r = await reply
    if (i >= o.warmup) {
      latencies.push(r.at - sentAt)
      count(codes, r.code)
    }
  }
  const seconds = (now() - started) / 1000
  return { latencies, throughput: o.n / seconds, seconds, codes, lost: 0, sent: o.n }
}

/**
 * Closed loop: `concurrency` requests always in flight, spread over the clients, for warm-up then
 * the measured window. Throughput counts replies received inside the window.
 */
export async function closed(o: { concurrency: number; warmupMs: number; durationMs: number }): Promise<Run> {
  const latencies: number[] = []
  const codes: Record<string, number> = {}
  const t0 = now()
  const from = t0 + o.warmupMs
  const until = from + o.durationMs
  let answered = 0
  let sent = 0
  const loop = async (i: number) => {
    const c = clients[i % clients.length]!
    while (now() < until) {
      const { sentAt, reply } = send(c)
      if (sentAt >= from) sent++
      const r = await reply
      if (sentAt >= from && r.at <= until) {
        latencies.push(r.at - sentAt)
        count(codes, r.code)
      }
      if (r.at >= from && r.at <= until) answered++
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, (_, i) => loop(i)))
  return { latencies, throughput: answered / (o.durationMs / 1000), seconds: o.durationMs / 1000, codes, lost: 0, sent }
}

/**
 * Open loop at a fixed offered rate, round-robin over the clients. Latency counts from when a
 * request was due, not when it went out, so a generator that falls behind shows up as latency
 * instead of silently offering less (coordinated omission).
 */
export async function open(o: { rate: number; warmupMs: number; durationMs: number; graceMs?: number }): Promise<Run> {
  const latencies: number[] = []
  const codes: Record<string, number> = {}
  const interval = 1000 / o.rate
  const t0 = now()
  const from = t0 + o.warmupMs
  const until = from + o.durationMs
  const inFlight: Promise<void>[] = []
  let due = 0
  let sent = 0
  let lost = 0
  let answered = 0
  while (now() < until) {
    const target = Math.floor((now() - t0) / interval)
    while (due <= target) {
      const dueAt = t0 + due * interval
      const c = clients[due % clients.length]!
      due++
      const { reply } = send(c)
      const counted = dueAt >= from
      if (counted) sent++
      inFlight.push(
        reply.then((r) => {
          if (!counted) return
          latencies.push(r.at - dueAt)
          count(codes, r.code)
          if (r.at <= until) answered++
        }),
      )
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  const grace = new Promise<'late'>((r) => setTimeout(() => r('late'), o.graceMs ?? 5_000))
  if ((await Promise.race([Promise.all(inFlight), grace])) === 'late') lost = sent - latencies.length
  const elapsed = (until - from) / 1000
  return { latencies, throughput: answered / elapsed, seconds: elapsed, codes, lost, sent }
}

/** One request from client `index` (with its own payload or `payload`): when it left, its reply. */
export async function request(o: {
  index?: number
  payload?: string
}): Promise<{ sentAt: number; replyAt: number; code: number; data: unknown }> {
  const { sentAt, reply } = send(clients[o.index ?? 0]!, o.payload)
  const r = await reply
  return { sentAt, replyAt: r.at, code: r.code, data: r.data }
}

export async function disconnect(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.client.endAsync()))
}
