import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateKeys, type LocalKeys } from '../../local/keys.ts'
import { freePort } from '../../local/ports.ts'
import { replyFilter, requestTopic } from '../../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../support/fake-worker.ts'
import { startMosquitto } from '../support/mosquitto.ts'
import { connectClient, connectMqtt } from '../support/mqtt-client.ts'
import { spawnRelay } from '../support/relay-process.ts'
import { realServicesMissing } from '../support/services.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'

/**
 * Issue 7, faults: the broker goes away and comes back on the same port. The standalone relay must
 * notice (/healthz 503), reconnect and resubscribe by itself (/healthz 200), and serve again, with
 * no restart of its own.
 */
describe.skipIf(realServicesMissing('mosquitto'))('broker restart', () => {
  let keys: LocalKeys
  let worker: FakeWorker
  const cleanup: Array<() => Promise<unknown>> = []

  beforeAll(async () => {
    keys = await generateKeys()
    worker = await startFakeWorker('w')
  })
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {})
    worker.delay(0)
  })
  afterAll(async () => {
    await worker?.close()
  })

  /** A broker, the relay process with its ops server, and a requester with a persistent session. */
  async function setup(persistence: boolean) {
    const broker = await startMosquitto({ persistence })
    cleanup.push(() => broker.stop())
    const opsPort = await freePort()
    const relay = spawnRelay({
      MQTT_URL: broker.url,
      MCHAT_RELAY_ID: `relay-restart-${persistence ? 'p' : 'np'}`,
      MCHAT_SHARE_GROUP: 'gateway',
      MCHAT_WORKER_URL: worker.url,
      MCHAT_RELAY_PRIVATE_KEY: keys.relayPrivateJwk,
      MCHAT_OPS_PORT: String(opsPort),
    })
    cleanup.push(() => relay.kill())
    await relay.subscribed()
    const ops = `http://127.0.0.1:${opsPort}`
    const cid = 'emp_restart.dev'
    // Persistent and reconnecting, like an app: replies published while it is cut off wait for it.
    const client = await connectMqtt(broker.url, {
      clientId: cid,
      clean: false,
      reconnectPeriod: 200,
      protocolVersion: 4,
    })
    cleanup.push(() => client.endAsync(true))
    const replies = new Map<string, Array<{ code: number }>>()
    client.on('message', (topic, p) => {
      const seq = topic.split('/').pop()!
      replies.set(seq, [...(replies.get(seq) ?? []), JSON.parse(p.toString())])
    })
    await client.subscribeAsync(replyFilter(cid), { qos: 1 })
    const send = (seq: string) =>
      client.publishAsync(requestTopic(cid, seq), JSON.stringify({ action: 'org.tree' }), { qos: 1 })
    return { broker, relay, ops, client, replies, send }
  }

  it(
    'persistent broker: /healthz 503 while it is down, then the relay resubscribes by itself; requests caught in flight are answered',
    { timeout: 60_000 },
    async () => {
      const { broker, relay, ops, client, replies, send } = await setup(true)
      expect(await status(`${ops}/healthz`)).toBe(200)
      await send('before')
      await until(() => replies.has('before'), 10_000, 'the first reply')
      expect(replies.get('before')![0]!.code).toBe(0)

      // Requests in the worker when the broker goes: the relay holds them un-acknowledged.
      worker.delay(1_500)
      const callsBefore = worker.calls
      const inFlight = Array.from({ length: 10 }, (_, i) => `inflight-${i}`)
      await Promise.all(inFlight.map(send))
      await until(() => worker.calls >= callsBefore + inFlight.length, 10_000, 'the worker to have the 10 requests')

      const whileDown: number[] = []
      await broker.restart(async () => {
        await until(async () => (await status(`${ops}/healthz`)) === 503, 10_000, '/healthz to say 503')
        whileDown.push(await status(`${ops}/healthz`), await status(`${ops}/livez`))
        await new Promise((r) => setTimeout(r, 1_500)) // the relay retries (and fails) meanwhile
        whileDown.push(await status(`${ops}/healthz`))
      })
      expect(whileDown).toEqual([503, 200, 503])

      await until(async () => (await status(`${ops}/healthz`)) === 200, 20_000, '/healthz back to 200')
      expect(relay.output().match(/relay: subscribed /g)).toHaveLength(2)
      expect(relay.output()).toMatch(/mqtt offline, reconnecting/)

      // Served again, no relay restart: the requests caught in flight, and a new one.
      worker.delay(0)
      await until(() => client.connected, 10_000, 'the requester to reconnect')
      await send('after')
      await until(() => [...inFlight, 'after'].every((s) => replies.has(s)), 20_000, 'every reply')
      for (const s of [...inFlight, 'after']) expect(replies.get(s)!.map((r) => r.code)).toContain(0)
      expect(relay.child.exitCode).toBeNull()
    },
  )

  it(
    'broker that lost every session: the relay subscribes again by itself and serves',
    { timeout: 60_000 },
    async () => {
      const { broker, relay, ops, client, replies, send } = await setup(false)
      await send('before')
      await until(() => replies.has('before'), 10_000, 'the first reply')

      await broker.restart(async () => {
        await until(async () => (await status(`${ops}/healthz`)) === 503, 10_000, '/healthz to say 503')
      })
      await until(async () => (await status(`${ops}/healthz`)) === 200, 20_000, '/healthz back to 200')
      expect(relay.output().match(/relay: subscribed /g)).toHaveLength(2)

      // The requester's own session is gone too: it subscribes again, as an app does on a clean CONNACK.
      await until(() => client.connected, 10_000, 'the requester to reconnect')
      await client.subscribeAsync(replyFilter('emp_restart.dev'), { qos: 1 })
      await send('after')
      await until(() => replies.has('after'), 10_000, 'the reply after the restart')
      expect(replies.get('after')![0]!.code).toBe(0)
    },
  )
})

describe.skipIf(realServicesMissing('mosquitto'))('broker unreachable (network cut)', () => {
  it(
    'at start and mid-way: /healthz 503, /livez 200; it subscribes by itself once reachable; SIGTERM while cut off still exits 0',
    { timeout: 60_000 },
    async () => {
      const keys = await generateKeys()
      const worker = await startFakeWorker('w')
      const broker = await startMosquitto()
      const proxy = await startTcpProxy({ port: broker.port })
      const opsPort = await freePort()
      const ops = `http://127.0.0.1:${opsPort}`
      await proxy.cut()
      const relay = spawnRelay({
        MQTT_URL: proxy.url('mqtt'),
        MCHAT_RELAY_ID: 'relay-partition',
        MCHAT_SHARE_GROUP: 'gateway',
        MCHAT_WORKER_URL: worker.url,
        MCHAT_RELAY_PRIVATE_KEY: keys.relayPrivateJwk,
        MCHAT_OPS_PORT: String(opsPort),
      })
      const client = await connectClient(broker.url, 'emp_cut.dev')
      try {
        await until(async () => (await status(`${ops}/livez`)) === 200, 20_000, 'the ops server')
        expect(await status(`${ops}/healthz`)).toBe(503)

        await proxy.restore()
        await relay.subscribed()
        await until(async () => (await status(`${ops}/healthz`)) === 200, 20_000, '/healthz 200')
        expect((await client.request('org.tree', {}, 'one')).code).toBe(0)

        await proxy.cut()
        await until(async () => (await status(`${ops}/healthz`)) === 503, 10_000, '/healthz 503 after the cut')
        // Published while the relay is cut off: kept in its persistent session.
        const whileCut = client.request('org.tree', {}, 'two')
        await proxy.restore()
        expect((await whileCut).code).toBe(0)
        await until(async () => (await status(`${ops}/healthz`)) === 200, 20_000, '/healthz 200 again')

        await proxy.cut()
        await until(async () => (await status(`${ops}/healthz`)) === 503, 10_000, '/healthz 503 after the second cut')
        relay.child.kill('SIGTERM')
        expect(await relay.exited).toEqual({ code: 0, signal: null })

        // One that never reached the broker at all ends cleanly on SIGTERM too.
        const neverPort = await freePort()
        const never = spawnRelay({
          MQTT_URL: proxy.url('mqtt'),
          MCHAT_RELAY_ID: 'relay-never',
          MCHAT_WORKER_URL: worker.url,
          MCHAT_RELAY_PRIVATE_KEY: keys.relayPrivateJwk,
          MCHAT_OPS_PORT: String(neverPort),
        })
        await until(async () => (await status(`http://127.0.0.1:${neverPort}/livez`)) === 200, 20_000, 'its ops server')
        never.child.kill('SIGTERM')
        expect(await never.exited).toEqual({ code: 0, signal: null })
      } finally {
        await relay.kill()
        await client.end()
        await proxy.close()
        await broker.stop()
        await worker.close()
      }
    },
  )
})

async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.status
  } catch {
    return 0
  }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
