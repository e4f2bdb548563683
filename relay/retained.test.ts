import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedBroker } from '../local/broker.ts'
import { generateKeys, type LocalKeys } from '../local/keys.ts'
import { replyTopic, requestTopic } from '../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../test/support/fake-worker.ts'
import { startMosquitto } from '../test/support/mosquitto.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { realServicesMissing } from '../test/support/services.ts'
import { RELAY_DEFAULTS } from './config.ts'
import { startRelay, type Relay } from './relay.ts'

/** A request published with retain is served once, never again for a later subscription, and cleared. */
let keys: LocalKeys
let worker: FakeWorker
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  keys = await generateKeys()
  worker = await startFakeWorker('w')
})
afterAll(() => worker?.close())

function suite(name: string, start: () => Promise<{ url: string; close(): Promise<void> }>) {
  describe(`retained requests on ${name}`, () => {
    let broker: { url: string; close(): Promise<void> }
    const relays: Relay[] = []
    const clients: MqttClient[] = []
    const relayOn = async (id: string) => {
      const infos: string[] = []
      const relay = await startRelay(
        {
          ...RELAY_DEFAULTS,
          mqttUrl: broker.url,
          clientId: id,
          shareGroup: '',
          workerUrl: worker.url,
          privateKeyJwk: keys.relayPrivateJwk,
        },
        { log: () => {}, info: (m) => infos.push(m) },
      )
      relays.push(relay)
      await relay.ready
      return { relay, infos }
    }
    beforeAll(async () => {
      broker = await start()
    })
    afterAll(async () => {
      for (const r of relays) await r.drain()
      await Promise.all(clients.map((c) => c.endAsync(true)))
      await broker?.close()
    })

    it(
      'is not served again when a relay subscribes later, and the broker forgets it',
      { timeout: 20_000 },
      async () => {
        const first = await relayOn(`relay-ret-a-${name}`)
        const client = await connectMqtt(broker.url, { clientId: `ret-client-${name}` })
        clients.push(client)
        const cid = `ret_${name}.dev`
        const replies: string[] = []
        client.on('message', (t) => void (t.startsWith('mchat/msg/resp/') && replies.push(t)))
        await client.subscribeAsync(replyTopic(cid, '+'), { qos: 1 })
        const calls = worker.calls
        await client.publishAsync(requestTopic(cid, 'r1'), JSON.stringify({ action: 'org.tree' }), {
          qos: 1,
          retain: true,
        })
        await sleep(500)
        // Served at most once as it was published: a broker that marks it retained on the way is not
        // told apart from one that does not.
        expect(worker.calls - calls).toBeLessThanOrEqual(1)
        expect(replies.length).toBe(worker.calls - calls)
        const servedLive = worker.calls - calls

        // A new subscription gets the retained copy: the relay drops it and clears it.
        const second = await relayOn(`relay-ret-b-${name}`)
        await sleep(500)
        expect(worker.calls - calls).toBe(servedLive)
        expect(replies.length).toBe(servedLive)
        expect(
          [...first.infos, ...second.infos].some(
            (m) => m === `retained request on ${requestTopic(cid, 'r1')} ignored and cleared`,
          ),
        ).toBe(true)

        // Nothing left for anyone who subscribes from now on; the empty clearing message is no request.
        const observer = await connectMqtt(broker.url, { clientId: `ret-observer-${name}` })
        clients.push(observer)
        const seen: Buffer[] = []
        observer.on('message', (_t, p) => void seen.push(p))
        await observer.subscribeAsync(requestTopic(cid, '+'), { qos: 1 })
        await relayOn(`relay-ret-c-${name}`)
        await sleep(500)
        expect(seen).toEqual([])
        expect(worker.calls - calls).toBe(servedLive)
        expect(replies.length).toBe(servedLive)

        // Anyone's empty payload on a request topic is a clearing, not a request: no call, no reply.
        await client.publishAsync(requestTopic(cid, 'r2'), '', { qos: 1 })
        await sleep(300)
        expect(worker.calls - calls).toBe(servedLive)
        expect(replies.length).toBe(servedLive)
      },
    )
  })
}

suite('embedded', async () => {
  const b = await startEmbeddedBroker({ mqttPort: 0, wsPort: null, host: '127.0.0.1' })
  return { url: b.url, close: () => b.close() }
})

describe.skipIf(realServicesMissing('mosquitto'))('on Mosquitto', () => {
  suite('mosquitto', async () => {
    const m = await startMosquitto()
    return { url: m.url, close: () => m.stop() }
  })
})
