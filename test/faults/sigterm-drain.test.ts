import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeys, type LocalKeys } from '../../local/keys.ts'
import { replyFilter, requestTopic } from '../../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../support/fake-worker.ts'
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.ts'
import { connectClient, type TestClient } from '../support/mqtt-client.ts'
import { spawnRelay, type RelayProcess } from '../support/relay-process.ts'
import { realServicesMissing } from '../support/services.ts'

/**
 * Issue 7, faults: a rolling restart under load. Two relay processes share the request
 * subscription on Mosquitto; one gets SIGTERM while requests keep coming. It leaves the share
 * group, answers what it holds, exits 0, and comes back under the same id; the other takes the new
 * requests meanwhile. Every request is answered.
 */
const N = 200

describe.skipIf(realServicesMissing('mosquitto'))('SIGTERM drain in a share group', () => {
  let keys: LocalKeys
  let worker: FakeWorker
  let mosquitto: MosquittoProcess
  let client: TestClient
  const relays: RelayProcess[] = []

  beforeAll(async () => {
    keys = await generateKeys()
    worker = await startFakeWorker('w')
    // Long enough for SIGTERM to find requests in the worker.
    worker.delay(300)
    mosquitto = await startMosquitto({ extraConfig: ['max_inflight_messages 256', 'max_queued_messages 100000'] })
    client = await connectClient(mosquitto.url, 'emp_roll.dev')
  })
  afterAll(async () => {
    await client?.end()
    await Promise.all(relays.map((r) => r.kill()))
    await mosquitto?.stop()
    await worker?.close()
  })

  const relay = (id: string) => {
    const r = spawnRelay({
      MQTT_URL: mosquitto.url,
      MCHAT_RELAY_ID: id,
      MCHAT_SHARE_GROUP: 'gateway',
      MCHAT_WORKER_URL: worker.url,
      MCHAT_RELAY_PRIVATE_KEY: keys.relayPrivateJwk,
    })
    relays.push(r)
    return r
  }

  it(
    `${N} requests at a steady pace, one relay restarted with SIGTERM mid-way: it drains and exits 0, all ${N} answered`,
    { timeout: 60_000 },
    async () => {
      const a = relay('relay-roll-a')
      const b = relay('relay-roll-b')
      await Promise.all([a.subscribed(), b.subscribed()])
      await client.subscribe(replyFilter(client.clientId))

      const seqs = Array.from({ length: N }, (_, i) => `r${i}`)
      let published = 0
      const load = (async () => {
        for (; published < N; published += 10) {
          await Promise.all(
            seqs.slice(published, published + 10).map((s) =>
              client.client.publishAsync(requestTopic(client.clientId, s), JSON.stringify({ action: 'org.tree' }), {
                qos: 1,
              }),
            ),
          )
          await new Promise((r) => setTimeout(r, 50))
        }
      })()
      await until(() => published >= N / 3, 'a third published')
      a.child.kill('SIGTERM')
      expect(await a.exited).toEqual({ code: 0, signal: null })
      const drained = Number(/SIGTERM, draining (\d+) request/.exec(a.output())?.[1])
      const aServed = a.lines()
      // What it held when SIGTERM came was answered (and acknowledged) before it exited.
      expect(aServed.length).toBeGreaterThanOrEqual(drained)
      expect(aServed.every((l) => l.code === 0)).toBe(true)

      const again = relay('relay-roll-a')
      await again.subscribed()
      await load
      const answered = () =>
        new Set(client.received.filter((m) => m.payload?.code === 0).map((m) => m.topic.split('/').pop()))
      await until(() => answered().size === N, `all ${N} replies (have ${answered().size})`)
      expect([...answered()].sort()).toEqual([...seqs].sort())
      // The other member took over while one was away: both served, and between them everything.
      const bServed = b.lines()
      expect(bServed.length).toBeGreaterThan(0)
      const served = new Set([...aServed, ...bServed, ...again.lines()].map((l) => l.seq_id))
      expect(served).toEqual(new Set(seqs))
      console.info(
        `rolling restart: ${drained} drained by the relay on SIGTERM, ${aServed.length} served by it before exit, ${bServed.length} by the other, ${again.lines().length} after its restart`,
      )
    },
  )
})

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
