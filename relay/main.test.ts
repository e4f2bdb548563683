import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WORKER_ANSWER_TYPE } from '../schema/index.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../local/broker.ts'
import { generateKeys } from '../local/keys.ts'
import { connectClient } from '../test/support/mqtt-client.ts'
import { spawnRelay } from '../test/support/relay-process.ts'
import { requestTopic } from '../schema/index.ts'

// The standalone relay process: configured by the environment, draining on SIGTERM.
describe('relay/main.ts', () => {
  let broker: EmbeddedBroker
  let worker: Server
  let workerUrl: string
  const received: string[] = []

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ mqttPort: 0 })
    worker = createServer((req, res) => {
      received.push(req.url ?? '')
      // Slow enough that SIGTERM arrives while the request is in the worker.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': WORKER_ANSWER_TYPE })
        res.end(JSON.stringify({ kind: 'reply', code: 0, message: 'ok', data: { slow: true } }) + '\n')
      }, 600)
    })
    await new Promise<void>((r) => worker.listen(0, '127.0.0.1', r))
    workerUrl = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    worker?.close()
    await broker?.close()
  })

  it('refuses to start without its signing key, in one line', async () => {
    const child = spawn(join('node_modules', '.bin', 'tsx'), ['relay/main.ts'], {
      env: { PATH: process.env.PATH, MQTT_URL: broker.url },
    })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    const code = await new Promise((r) => child.once('exit', r))
    expect(code).toBe(2)
    expect(err.trim()).toBe(
      'relay: MCHAT_RELAY_PRIVATE_KEY is required (the relay signing key, an Ed25519 private JWK)',
    )
  })

  it('on SIGTERM finishes the request in flight, publishes its reply, and exits 0', { timeout: 30_000 }, async () => {
    const keys = await generateKeys()
    const child = spawn(join('node_modules', '.bin', 'tsx'), ['relay/main.ts'], {
      env: {
        PATH: process.env.PATH,
        MQTT_URL: broker.url,
        MCHAT_SHARE_GROUP: '',
        MCHAT_RELAY_ID: 'relay-main-test',
        MCHAT_WORKER_URL: workerUrl,
        MCHAT_RELAY_PRIVATE_KEY: keys.relayPrivateJwk,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
    const client = await connectClient(broker.url, 'emp_x.main')
    try {
      const deadline = Date.now() + 15_000
      while (!out.includes('subscribed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(out).toContain('subscribed mchat/msg/req/+/+ as relay-main-test')
      const reply = client.request('org.tree', {}, 'term-1')
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      child.kill('SIGTERM')
      expect(await reply).toEqual({ seq_id: 'term-1', code: 0, message: 'ok', data: { slow: true } })
      expect(await exited).toBe(0)
      expect(out).toMatch(/SIGTERM, draining 1 request/)
      // Its one log line made it out before exit.
      expect(out).toMatch(/"client_id":"emp_x\.main","seq_id":"term-1","action":"org\.tree","code":0/)
    } finally {
      child.kill('SIGKILL')
      await client.end()
    }
  })

  it(
    'on SIGTERM under load answers every request in the worker before it exits 0; with a restart under the same id, none of 40 is lost',
    { timeout: 45_000 },
    async () => {
      const keys = await generateKeys()
      // A lone relay: a share group would hand the rest to another member instead.
      const env = {
        MQTT_URL: broker.url,
        MCHAT_SHARE_GROUP: '',
        MCHAT_RELAY_ID: 'relay-main-load',
        MCHAT_WORKER_URL: workerUrl,
        MCHAT_RELAY_PRIVATE_KEY: keys.relayPrivateJwk,
        MCHAT_MAX_IN_FLIGHT: '10',
      }
      const first = spawnRelay(env)
      const client = await connectClient(broker.url, 'emp_y.main')
      let second: ReturnType<typeof spawnRelay> | undefined
      const waitUntil = async (cond: () => boolean, what: string) => {
        const deadline = Date.now() + 20_000
        while (!cond()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
          await new Promise((r) => setTimeout(r, 10))
        }
      }
      try {
        await first.subscribed()
        const seqs = Array.from({ length: 40 }, (_, i) => `load-${i}`)
        const before = received.length
        await Promise.all(
          seqs.map((s) =>
            client.client.publishAsync(requestTopic(client.clientId, s), JSON.stringify({ action: 'org.tree' }), {
              qos: 1,
            }),
          ),
        )
        await waitUntil(() => received.length >= before + 10, 'the worker to hold 10 requests')
        const inWorker = received.length - before
        first.child.kill('SIGTERM')
        expect(await first.exited).toEqual({ code: 0, signal: null })
        expect(Number(/SIGTERM, draining (\d+) request/.exec(first.output())?.[1])).toBeGreaterThan(0)
        // Each log line is written once its reply is acknowledged by the broker: everything that
        // was in the worker when SIGTERM came was answered before the process exited.
        const servedFirst = first.lines().filter((l) => l.client_id === client.clientId)
        expect(servedFirst.every((l) => l.code === 0)).toBe(true)
        expect(servedFirst.length).toBeGreaterThanOrEqual(inWorker)

        second = spawnRelay(env)
        await second.subscribed()
        const answered = () =>
          new Set(client.received.filter((m) => m.payload?.code === 0).map((m) => m.topic.split('/').pop()))
        await waitUntil(() => seqs.every((s) => answered().has(s)), 'all 40 replies')
        const servedSecond = second.lines().filter((l) => l.client_id === client.clientId)
        expect(new Set([...servedFirst, ...servedSecond].map((l) => l.seq_id))).toEqual(new Set(seqs))
      } finally {
        await first.kill()
        await second?.stop()
        await client.end()
      }
    },
  )
})
