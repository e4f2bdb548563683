import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startSystem, type System } from '../../local/start.ts'
import type { LocalKeys } from '../../local/keys.ts'
import { RELAY_DEFAULTS } from '../../relay/config.ts'
import type { RequestLogLine } from '../../relay/log.ts'
import { startRelay, type Relay } from '../../relay/relay.ts'
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.ts'
import { loginOf } from '../support/logins.ts'
import { connectClient } from '../support/mqtt-client.ts'
import { createRealDatabase, realServicesMissing } from '../support/services.ts'
import { runScenario } from './scenario.ts'

// Real Mosquitto (own config, free port, $share) and the machine's real PostgreSQL.
describe.skipIf(realServicesMissing('postgres', 'mosquitto'))('end to end on real Mosquitto and PostgreSQL', () => {
  let mosquitto: MosquittoProcess
  let database: { url: string; drop: () => Promise<void> }
  let system: System
  let second: Relay
  let dir: string
  const logs: Record<string, RequestLogLine[]> = { one: [], two: [] }

  beforeAll(async () => {
    mosquitto = await startMosquitto()
    database = await createRealDatabase()
    dir = await mkdtemp(join(tmpdir(), 'mchat-real-'))
    system = await startSystem({
      dataDir: dir,
      host: '127.0.0.1',
      publicHost: '127.0.0.1',
      mqttPort: 0,
      wsPort: null,
      httpPort: 0,
      databaseUrl: database.url,
      mqttUrl: mosquitto.url,
      shareGroup: 'gateway',
      relayId: 'relay-one',
      log: (l) => logs.one!.push(l),
      info: () => {},
    })
    const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as LocalKeys
    second = await startRelay(
      {
        ...RELAY_DEFAULTS,
        mqttUrl: mosquitto.url,
        clientId: 'relay-two',
        shareGroup: 'gateway',
        workerUrl: system.workerUrl,
        privateKeyJwk: keys.relayPrivateJwk,
      },
      { log: (l) => logs.two!.push(l), info: () => {} },
    )
    await second.ready
  }, 60_000)

  afterAll(async () => {
    await second?.drain()
    await system?.stop()
    await mosquitto?.stop()
    await database?.drop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('uses the real database', () => {
    expect(system.databaseKind).toBe('postgres')
  })

  it('serves the whole flow over MQTT', async () => {
    await runScenario({ mqttUrl: system.mqttUrl, admin: system.admin, brokerChecksLogins: false }, 'real')
  })

  it('two relays in one share group answer every request exactly once and both serve', async () => {
    const c = await connectClient(system.mqttUrl, 'admin.share', loginOf(system.admin.mqtt_connection))
    try {
      expect((await c.request('auth.bind', { mqtt_password: system.admin.mqtt_connection.mqtt_password })).code).toBe(0)
      const n = 100
      const seqs = Array.from({ length: n }, (_, i) => `share-${i}`)
      const replies = await Promise.all(
        seqs.map((s, i) => c.request('msg.send_private', { to_employee_id: 'admin', content: `m${i}` }, s)),
      )
      expect(replies.every((r) => r.code === 0)).toBe(true)
      await new Promise((r) => setTimeout(r, 300)) // room for any duplicate to show up
      const perSeq = new Map<string, number>()
      for (const m of c.received) {
        const seq = m.topic.split('/').pop()!
        if (m.topic.startsWith('mchat/msg/resp/admin.share/share-')) perSeq.set(seq, (perSeq.get(seq) ?? 0) + 1)
      }
      expect(perSeq.size).toBe(n)
      expect([...perSeq.values()].every((k) => k === 1)).toBe(true)
      const served = (l: RequestLogLine[]) =>
        l.filter((x) => x.client_id === 'admin.share' && x.seq_id.startsWith('share-')).length
      await vi.waitFor(() => expect(served(logs.one!) + served(logs.two!)).toBe(n))
      expect(served(logs.one!)).toBeGreaterThan(0)
      expect(served(logs.two!)).toBeGreaterThan(0)
    } finally {
      await c.end()
    }
  })
})
