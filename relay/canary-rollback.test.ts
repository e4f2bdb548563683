import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startEmbeddedBroker } from '../local/broker.ts'
import { generateKeys } from '../local/keys.ts'
import { opsCanaryTopic, requestTopic } from '../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../test/support/fake-worker.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { RELAY_DEFAULTS } from './config.ts'
import { createRelayMetrics, type RelayMetrics } from './metrics.ts'
import { RouteSource } from './route-source.ts'
import { startRelay, type Relay } from './relay.ts'
import { routeTable } from './routes.ts'

/** A canary that fails is taken out by the relay's own analysis; a healthy one is promoted step by step. */
let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>
let relay: Relay
let client: MqttClient
let metrics: RelayMetrics
let stable: FakeWorker
let canary: FakeWorker
const routes = new RouteSource({ default: { url: 'http://unused.test' }, actions: {} })
const replies = new Map<string, { code: number; data: { who: string } | null }>()
const announced: Array<Record<string, unknown>> = []
let n = 0

async function send(cid: string, action: string): Promise<{ code: number; who: string }> {
  const seq = `r${n++}`
  await client.publishAsync(
    requestTopic(cid, seq),
    JSON.stringify({ action, to_employee_id: 'x', content: 'hi', name: 'g', member_ids: ['x'] }),
    { qos: 1 },
  )
  await vi.waitFor(() => expect(replies.has(`${cid}/${seq}`)).toBe(true), { timeout: 10_000, interval: 5 })
  const r = replies.get(`${cid}/${seq}`)!
  return { code: r.code, who: r.data?.who ?? '-' }
}

const analysed = (
  action: string,
  analysis: Record<string, unknown>,
  weight: number,
  extra: Record<string, unknown> = {},
) =>
  routeTable.parse({
    default: { url: stable.url },
    actions: {
      [action]: {
        canary: {
          target: { url: canary.url },
          weight,
          analysis: { interval_ms: 100, window_ms: 5000, min_requests: 10, failed_checks: 2, ...analysis },
          ...extra,
        },
      },
    },
  })

beforeAll(async () => {
  stable = await startFakeWorker('stable')
  canary = await startFakeWorker('canary')
  broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null })
  const keys = await generateKeys()
  metrics = createRelayMetrics({ relay: 'relay-rb', defaultMetrics: false })
  relay = await startRelay(
    {
      ...RELAY_DEFAULTS,
      mqttUrl: broker.url,
      clientId: 'relay-rb',
      shareGroup: '',
      workerUrl: stable.url,
      privateKeyJwk: keys.relayPrivateJwk,
    },
    { routes, metrics, log: () => {}, info: () => {} },
  )
  await relay.ready
  client = await connectMqtt(broker.url, { clientId: 'rb-tester' })
  client.on('message', (topic, payload) => {
    const body = JSON.parse(payload.toString())
    if (topic.startsWith('mchat/ops/canary/')) return void announced.push(body)
    const [, , , cid, seq] = topic.split('/')
    replies.set(`${cid}/${seq}`, body)
  })
  await client.subscribeAsync(['mchat/msg/resp/+/+', opsCanaryTopic('+')], { qos: 1 })
}, 30_000)

afterAll(async () => {
  await client?.endAsync()
  await relay?.drain()
  await broker?.close()
  await Promise.all([stable?.close(), canary?.close()])
})

describe('canary analysis', () => {
  it(
    'rolls a failing canary back to weight 0 by itself, announces it, and no stable request fails meanwhile',
    { timeout: 60_000 },
    async () => {
      canary.behave('error')
      // Without fallback, to see what the canary's own users get (canary-fallback.test.ts: with it).
      routes.set(analysed('msg.send_private', { success_rate: 0.95 }, 30, { fallback: false }), 'test')
      const results: Array<{ code: number; who: string }> = []
      for (let i = 0; routes.current.actions['msg.send_private']!.canary!.weight > 0; i++) {
        if (i > 200) throw new Error('no rollback after 200 rounds of requests')
        results.push(
          ...(await Promise.all(Array.from({ length: 10 }, (_, j) => send(`rb_${i}_${j}.dev`, 'msg.send_private')))),
        )
      }
      const stableReplies = results.filter((r) => r.who === 'stable')
      expect(stableReplies.length).toBeGreaterThan(0)
      expect(stableReplies.every((r) => r.code === 0)).toBe(true)
      expect(results.filter((r) => r.who !== 'stable').every((r) => r.code === 500)).toBe(true) // the canary's failures, seen by its share only

      // After the rollback every request goes to the stable version and succeeds.
      const after = await Promise.all(
        Array.from({ length: 50 }, (_, j) => send(`rb_after_${j}.dev`, 'msg.send_private')),
      )
      expect(after.every((r) => r.code === 0 && r.who === 'stable')).toBe(true)
      await vi.waitFor(() =>
        expect(announced).toContainEqual(
          expect.objectContaining({
            event: 'canary_rollback',
            action: 'msg.send_private',
            weight: 0,
            relay: 'relay-rb',
          }),
        ),
      )
      expect(await metrics.text()).toMatch(
        /mchat_relay_canary_rollbacks_total\{action="msg.send_private",relay="relay-rb"\} 1/,
      )
    },
  )

  it('promotes a healthy canary step by step up to its maximum weight', { timeout: 60_000 }, async () => {
    canary.behave('ok')
    routes.set(analysed('group.create', { step_weight: 20, max_weight: 60, min_requests: 5 }, 20), 'test')
    const weights = new Set<number>()
    for (let i = 0; routes.current.actions['group.create']!.canary!.weight < 60; i++) {
      if (i > 300) throw new Error('no promotion to 60 after 300 rounds of requests')
      weights.add(routes.current.actions['group.create']!.canary!.weight)
      const round = await Promise.all(Array.from({ length: 10 }, (_, j) => send(`pr_${i}_${j}.dev`, 'group.create')))
      expect(round.every((r) => r.code === 0)).toBe(true)
    }
    expect([...weights]).toEqual([20, 40])
    // The announcement travels through the broker after the weight changed here.
    await vi.waitFor(() =>
      expect(
        announced.filter((a) => a.event === 'canary_promotion' && a.action === 'group.create').map((a) => a.weight),
      ).toEqual([40, 60]),
    )
  })
})
