import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { startEmbeddedBroker } from '../local/broker.ts'
import { generateKeys } from '../local/keys.ts'
import { requestTopic } from '../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../test/support/fake-worker.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { RELAY_DEFAULTS } from './config.ts'
import type { RequestLogLine } from './log.ts'
import { createRelayMetrics, type RelayMetrics } from './metrics.ts'
import { RouteSource } from './route-source.ts'
import { startRelay, type Relay } from './relay.ts'
import { bucketOf, routeTable } from './routes.ts'

/** A request the canary fails before any delivery is answered by stable; the canary is still judged by it. */
let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>
let relay: Relay
let client: MqttClient
let metrics: RelayMetrics
let stable: FakeWorker
let canary: FakeWorker
const routes = new RouteSource({ default: { url: 'http://unused.test' }, actions: {} })
const replies = new Map<string, { code: number; data: { who: string } | null }>()
const inbox: unknown[] = []
const logged: RequestLogLine[] = []
let n = 0

async function send(cid: string, action: string): Promise<{ code: number; who: string }> {
  const seq = `f${n++}`
  await client.publishAsync(
    requestTopic(cid, seq),
    JSON.stringify({ action, to_employee_id: 'x', content: 'hi', name: 'g', member_ids: ['x'] }),
    { qos: 1 },
  )
  await vi.waitFor(() => expect(replies.has(`${cid}/${seq}`)).toBe(true), { timeout: 15_000, interval: 5 })
  const r = replies.get(`${cid}/${seq}`)!
  return { code: r.code, who: r.data?.who ?? '-' }
}

/** 20 client ids, 10 of them in the canary's half of `action` at weight 50. */
function clients(action: string): string[] {
  const canaryOnes: string[] = []
  const stableOnes: string[] = []
  for (let i = 0; canaryOnes.length < 10 || stableOnes.length < 10; i++) {
    const cid = `fb_${action.replace('.', '_')}_${i}.dev`
    const list = bucketOf(cid, action) < 5000 ? canaryOnes : stableOnes
    if (list.length < 10) list.push(cid)
  }
  return [...canaryOnes, ...stableOnes]
}

/** 200 requests: 10 rounds, one request from each of the 20 clients at once. */
async function traffic(action: string): Promise<Array<{ code: number; who: string }>> {
  const ids = clients(action)
  const results: Array<{ code: number; who: string }> = []
  for (let round = 0; round < 10; round++) results.push(...(await Promise.all(ids.map((cid) => send(cid, action)))))
  return results
}

const table = (action: string, canaryRoute: Record<string, unknown>, timeout_ms?: number) =>
  routeTable.parse({
    default: { url: stable.url },
    actions: {
      [action]: {
        canary: { target: { url: canary.url }, weight: 50, ...canaryRoute },
        ...(timeout_ms && { timeout_ms }),
      },
    },
  })
const analysis = { interval_ms: 100, window_ms: 5000, min_requests: 10, failed_checks: 2 }

const fallbacksOf = async (action: string) =>
  Number(
    (await metrics.text()).match(
      new RegExp(`mchat_relay_canary_fallbacks_total\\{action="${action}",relay="relay-fb"\\} (\\d+)`),
    )?.[1] ?? 0,
  )
const rollbacksOf = async (action: string) =>
  Number(
    (await metrics.text()).match(
      new RegExp(`mchat_relay_canary_rollbacks_total\\{action="${action}",relay="relay-fb"\\} (\\d+)`),
    )?.[1] ?? 0,
  )

beforeAll(async () => {
  stable = await startFakeWorker('stable')
  canary = await startFakeWorker('canary')
  broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null })
  const keys = await generateKeys()
  metrics = createRelayMetrics({ relay: 'relay-fb', defaultMetrics: false })
  relay = await startRelay(
    {
      ...RELAY_DEFAULTS,
      mqttUrl: broker.url,
      clientId: 'relay-fb',
      shareGroup: '',
      workerUrl: stable.url,
      privateKeyJwk: keys.relayPrivateJwk,
    },
    { routes, metrics, log: (l) => void logged.push(l), info: () => {} },
  )
  await relay.ready
  client = await connectMqtt(broker.url, { clientId: 'fb-tester' })
  client.on('message', (topic, payload) => {
    const body = JSON.parse(payload.toString())
    if (topic === 'mchat/inbox/fake') return void inbox.push(body)
    const [, , , cid, seq] = topic.split('/')
    replies.set(`${cid}/${seq}`, body)
  })
  await client.subscribeAsync(['mchat/msg/resp/+/+', 'mchat/inbox/fake'], { qos: 1 })
}, 30_000)

beforeEach(async () => {
  await canary.start()
  canary.behave('ok')
  stable.behave('ok')
  logged.length = 0
})

afterAll(async () => {
  await client?.endAsync()
  await relay?.drain()
  await broker?.close()
  await Promise.all([stable?.close(), canary?.close()])
})

describe('canary fallback', () => {
  const failing = [
    { how: 'answers HTTP 500', action: 'msg.send_private', code: 500, set: () => canary.behave('error') },
    {
      how: 'hangs past its first-line time',
      action: 'group.create',
      code: 504,
      set: () => canary.behave('hang'),
      route: { first_line_ms: 300 },
      timeout: 2_000,
    },
    { how: 'refuses connections', action: 'org.tree', code: 503, set: () => canary.stop() },
  ] as const

  for (const f of failing) {
    it(
      `a canary that ${f.how}: all 200 requests from 20 clients answered code 0 by stable, the canary rolled back, fallbacks counted`,
      { timeout: 60_000 },
      async () => {
        await f.set()
        const calls = canary.calls
        routes.set(
          table(f.action, { analysis, ...('route' in f ? f.route : {}) }, 'timeout' in f ? f.timeout : undefined),
          'test',
        )
        const results = await traffic(f.action)
        expect(results).toHaveLength(200)
        expect(results.filter((r) => r.code !== 0 || r.who !== 'stable')).toEqual([])

        // The failures still count against the canary: the analysis takes it out.
        await vi.waitFor(() => expect(routes.current.actions[f.action]!.canary!.weight).toBe(0), { timeout: 10_000 })
        expect(await rollbacksOf(f.action)).toBe(1)
        const fellBack = logged.filter((l) => l.action === f.action && l.fallback)
        expect(fellBack.length).toBeGreaterThan(0)
        expect(
          fellBack.every(
            (l) =>
              l.variant === 'stable' && l.code === 0 && l.fallback!.variant === 'canary' && l.fallback!.code === f.code,
          ),
        ).toBe(true)
        expect(fellBack.every((l) => l.fallback!.target === canary.url)).toBe(true)
        expect(await fallbacksOf(f.action)).toBe(fellBack.length)
        if (f.code !== 503) expect(canary.calls - calls).toBe(fellBack.length) // each reached the canary once
      },
    )
  }

  it(
    'with fallback false the canary failures reach its users, as without the feature',
    { timeout: 60_000 },
    async () => {
      canary.behave('error')
      routes.set(table('msg.send_group', { fallback: false }), 'test')
      const results = await traffic('msg.send_group')
      const failed = results.filter((r) => r.code === 500)
      expect(failed.length).toBe(100) // the 10 canary clients, 10 rounds each
      expect(results.filter((r) => r.code === 0).every((r) => r.who === 'stable')).toBe(true)
      expect(logged.some((l) => l.fallback)).toBe(false)
      expect(await fallbacksOf('msg.send_group')).toBe(0)
    },
  )

  it(
    'no fallback once the canary had a delivery published: the reply says what happened',
    { timeout: 30_000 },
    async () => {
      canary.behave('deliver-then-error')
      routes.set(
        routeTable.parse({
          default: { url: stable.url },
          actions: { 'msg.read_ack': { canary: { target: { url: canary.url }, weight: 100 } } },
        }),
        'test',
      )
      const stableCalls = stable.calls
      const before = inbox.length
      const r = await send('fb_delivered.dev', 'msg.read_ack')
      expect(r.code).toBe(500)
      expect(stable.calls).toBe(stableCalls)
      await vi.waitFor(() => expect(inbox.slice(before)).toEqual([{ who: 'canary' }]))
      expect(await fallbacksOf('msg.read_ack')).toBe(0)
    },
  )

  it('a canary that answers in time is not asked twice and its replies stand', { timeout: 30_000 }, async () => {
    routes.set(table('department.create', { first_line_ms: 300 }), 'test')
    canary.delay(100)
    try {
      const results = await traffic('department.create')
      expect(results.filter((r) => r.who === 'canary')).toHaveLength(100)
      expect(results.every((r) => r.code === 0)).toBe(true)
      expect(await fallbacksOf('department.create')).toBe(0)
    } finally {
      canary.delay(0)
    }
  })
})
