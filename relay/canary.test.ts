import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startEmbeddedBroker } from '../local/broker.ts'
import { generateKeys } from '../local/keys.ts'
import { requestTopic } from '../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../test/support/fake-worker.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { freePort } from '../local/ports.ts'
import { RELAY_DEFAULTS } from './config.ts'
import { createRelayMetrics, type RelayMetrics } from './metrics.ts'
import { startOpsServer, type OpsServer } from './ops-server.ts'
import { followRouteFile, readRouteFile, RouteSource } from './route-source.ts'
import { startRelay, type Relay } from './relay.ts'

/**
 * The relay steering one action's requests between a stable and a canary worker (each a fake
 * that says who it is), through a real MQTT broker.
 */
let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>
let relay: Relay
let routes: RouteSource
let stopFollowing: () => void
let client: MqttClient
let dir: string
const workers: FakeWorker[] = []
const urls: Record<'stable' | 'canary', string> = { stable: '', canary: '' }
const replies = new Map<string, { code: number; data: { who: string } | null }>()
let n = 0
let metrics: RelayMetrics
let ops: OpsServer

const routesJson = (weight: number) =>
  JSON.stringify({
    default: { url: urls.stable },
    actions: { 'msg.send_private': { canary: { target: { url: urls.canary }, weight } } },
  })

/** Publishes one request as client `cid` and resolves with its reply. */
async function send(cid: string, action = 'msg.send_private'): Promise<{ code: number; data: { who: string } | null }> {
  const seq = `s${n++}`
  const key = `${cid}/${seq}`
  await client.publishAsync(requestTopic(cid, seq), JSON.stringify({ action, to_employee_id: 'x', content: 'hi' }), {
    qos: 1,
  })
  await vi.waitFor(() => expect(replies.has(key)).toBe(true), { timeout: 10_000, interval: 5 })
  return replies.get(key)!
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mchat-canary-'))
  for (const who of ['stable', 'canary'] as const) {
    const w = await startFakeWorker(who)
    workers.push(w)
    urls[who] = w.url
  }
  const path = join(dir, 'routes.json')
  await writeFile(path, routesJson(10))
  routes = new RouteSource(await readRouteFile(path))
  stopFollowing = followRouteFile(path, routes, () => {})
  broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null })
  const keys = await generateKeys()
  relay = await startRelay(
    {
      ...RELAY_DEFAULTS,
      mqttUrl: broker.url,
      clientId: 'relay-canary',
      shareGroup: '',
      workerUrl: urls.stable,
      privateKeyJwk: keys.relayPrivateJwk,
    },
    {
      routes,
      metrics: (metrics = createRelayMetrics({ relay: 'relay-canary', defaultMetrics: false })),
      log: () => {},
      info: () => {},
    },
  )
  await relay.ready
  ops = await startOpsServer({ metrics, ready: relay.isReady })
  client = await connectMqtt(broker.url, { clientId: 'canary-tester' })
  client.on('message', (topic, payload) => {
    const [, , , cid, seq] = topic.split('/')
    replies.set(`${cid}/${seq}`, JSON.parse(payload.toString()))
  })
  await client.subscribeAsync('mchat/msg/resp/+/+', { qos: 1 })
}, 30_000)

afterAll(async () => {
  await ops?.close()
  stopFollowing?.()
  await client?.endAsync()
  await relay?.drain()
  await broker?.close()
  await Promise.all(workers.map((w) => w.close()))
  await rm(dir, { recursive: true, force: true })
})

describe('per-action canary through the relay', () => {
  it(
    '2,000 requests from 2,000 clients at weight 10 %: the canary’s share is within ±3 points, and each client sticks to its version',
    { timeout: 60_000 },
    async () => {
      const ids = Array.from({ length: 2000 }, (_, i) => `emp_${i}.dev`)
      const who: string[] = []
      for (let i = 0; i < ids.length; i += 200) {
        const batch = await Promise.all(ids.slice(i, i + 200).map((cid) => send(cid)))
        for (const r of batch) {
          expect(r.code).toBe(0)
          who.push(r.data!.who)
        }
      }
      const share = who.filter((w) => w === 'canary').length / who.length
      expect(Math.abs(share - 0.1)).toBeLessThanOrEqual(0.03)

      // Sticky: the same client keeps its version, request after request.
      for (const [i, cid] of ids.slice(0, 100).entries()) {
        const again = await Promise.all([send(cid), send(cid)])
        expect(again.map((r) => r.data!.who)).toEqual([who[i], who[i]])
      }
    },
  )

  it('a reload during steady load drops no request, and the new weights apply', { timeout: 60_000 }, async () => {
    const path = join(dir, 'routes.json')
    let stop = false
    const answered: Array<{ code: number; who: string }> = []
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => send(`load_${i}_${j}.dev`)))
        answered.push(...batch.map((r) => ({ code: r.code, who: r.data?.who ?? '-' })))
      }
    })()
    await vi.waitFor(() => expect(answered.length).toBeGreaterThan(100), { timeout: 20_000 })
    await writeFile(path, routesJson(100))
    await vi.waitFor(() => expect(routes.current.actions['msg.send_private']?.canary?.weight).toBe(100))
    const reloadedAt = answered.length
    await vi.waitFor(() => expect(answered.length).toBeGreaterThan(reloadedAt + 200), { timeout: 20_000 })
    stop = true
    await load
    expect(answered.every((a) => a.code === 0)).toBe(true) // every request answered, none failed
    // Requests published after the reload went to the canary (a batch straddling it may not have).
    expect(answered.slice(reloadedAt + 20).every((a) => a.who === 'canary')).toBe(true)
  })

  it('exports requests by action, target and code, canary weights and worker errors; healthy only while subscribed', async () => {
    const path = join(dir, 'routes.json')
    const dead = `http://127.0.0.1:${await freePort()}`
    await writeFile(
      path,
      JSON.stringify({
        ...JSON.parse(routesJson(100)),
        actions: { ...JSON.parse(routesJson(100)).actions, 'org.tree': { stable: { url: dead } } },
      }),
    )
    await vi.waitFor(() => expect(routes.current.actions['org.tree']?.stable?.url).toBe(dead))
    expect((await send('metrics_1.dev', 'org.tree')).code).toBe(503)

    const text = await (await fetch(`${ops.url}/metrics`)).text()
    const value = (line: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.slice(line.length)
          .trim() ?? NaN,
      )
    const labels = (o: Record<string, string>) =>
      `{${Object.entries({ ...o, relay: 'relay-canary' })
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}}`
    expect(
      value(`mchat_relay_requests_total${labels({ action: 'msg.send_private', target: urls.canary, code: '0' })}`),
    ).toBeGreaterThan(200)
    expect(
      value(`mchat_relay_requests_total${labels({ action: 'msg.send_private', target: urls.stable, code: '0' })}`),
    ).toBeGreaterThan(1000)
    expect(value(`mchat_relay_canary_weight${labels({ action: 'msg.send_private' })}`)).toBe(100)
    expect(
      value(`mchat_relay_worker_errors_total${labels({ action: 'org.tree', target: dead, kind: 'unavailable' })}`),
    ).toBe(1)
    expect(value(`mchat_relay_in_flight${labels({})}`)).toBe(0)

    expect((await fetch(`${ops.url}/healthz`)).status).toBe(200)
    await relay.drain()
    expect((await fetch(`${ops.url}/healthz`)).status).toBe(503)
  })
})
