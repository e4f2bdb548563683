import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startSystem, type System } from '../../local/start.ts'
import type { RequestLogLine } from '../../relay/log.ts'
import { loginOf } from '../support/logins.ts'
import { connectClient } from '../support/mqtt-client.ts'
import { RELAY_DEFAULTS } from '../../relay/config.ts'
import { runScenario } from './scenario.ts'

// The zero-install default: embedded broker (TCP + WebSocket), PGlite behind the Neon endpoint.
describe('end to end on embedded defaults', () => {
  let system: System
  let dir: string
  const logs: RequestLogLine[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mchat-e2e-'))
    system = await startSystem({
      dataDir: dir,
      host: '127.0.0.1',
      publicHost: '127.0.0.1',
      mqttPort: 0,
      wsPort: 0,
      httpPort: 0,
      log: (l) => logs.push(l),
      info: () => {},
    })
  }, 60_000)
  afterAll(async () => {
    await system?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('writes admin.json with the admin’s employee.create reply data', async () => {
    const file = JSON.parse(await readFile(join(dir, 'admin.json'), 'utf8'))
    expect(file).toEqual(system.admin)
    expect(file.employee_id).toBe('admin')
    expect(file.mqtt_connection).toMatchObject({
      broker_host: '127.0.0.1',
      broker_port: Number(new URL(system.mqttUrl).port),
      use_tls: false,
      mqtt_username: 'admin',
    })
  })

  it('serves the whole flow over MQTT', async () => {
    await runScenario({ mqttUrl: system.mqttUrl, admin: system.admin, brokerChecksLogins: true }, 'emb')
    // One log line per request (written just after the reply's PUBACK), never the payload.
    await vi.waitFor(() => expect(logs.length).toBe(8)) // the stranger is refused at CONNECT: no request
    expect(JSON.stringify(logs)).not.toContain('你好')
    for (const l of logs)
      expect(Object.keys(l).sort()).toEqual(['action', 'client_id', 'code', 'latency_ms', 'seq_id', 'variant'])
  })

  it('serves MQTT over WebSocket', async () => {
    const c = await connectClient(system.wsUrl!, 'admin.ws', loginOf(system.admin.mqtt_connection))
    try {
      expect((await c.request('auth.bind', { mqtt_password: system.admin.mqtt_connection.mqtt_password })).code).toBe(0)
      expect((await c.request('org.tree')).code).toBe(0)
    } finally {
      await c.end()
    }
  })

  it('answers everything it receives: bad JSON, unknown action, oversize, bad seq_id', async () => {
    const c = await connectClient(system.mqttUrl, 'admin.odd', loginOf(system.admin.mqtt_connection))
    try {
      const replies: Record<string, any> = {}
      const cases: Array<[string, string | Buffer]> = [
        ['json', '{nope'],
        ['array', '[1,2]'],
        ['unknown', JSON.stringify({ action: 'group.nope' })],
        ['noaction', JSON.stringify({ seq_id: 'noaction' })],
        ['mismatch', JSON.stringify({ action: 'org.tree', seq_id: 'other' })],
        ['big', JSON.stringify({ action: 'org.tree', pad: 'x'.repeat(RELAY_DEFAULTS.maxRequestBytes) })],
      ]
      for (const [seq, body] of cases) {
        const waiting = c.waitFor(`mchat/msg/resp/admin.odd/${seq}`)
        await c.publishRaw(`mchat/msg/req/admin.odd/${seq}`, body)
        replies[seq] = (await waiting).payload
      }
      expect(replies.json).toMatchObject({ code: 400, message: 'payload is not valid JSON', seq_id: 'json' })
      expect(replies.array).toMatchObject({ code: 400, message: 'payload must be a JSON object' })
      expect(replies.unknown).toMatchObject({ code: 404, message: 'unknown action "group.nope"' })
      expect(replies.noaction.code).toBe(400)
      expect(replies.noaction.message).toMatch(/^action: /)
      expect(replies.mismatch).toMatchObject({ code: 400, message: 'seq_id: does not match the seq_id in the topic' })
      expect(replies.big.code).toBe(413)
    } finally {
      await c.end()
    }
  })

  it('restarts on the same data dir with the same admin credentials', async () => {
    const before = system.admin
    await system.stop()
    system = await startSystem({
      dataDir: dir,
      host: '127.0.0.1',
      publicHost: '127.0.0.1',
      mqttPort: 0,
      wsPort: null,
      httpPort: 0,
      log: () => {},
      info: () => {},
    })
    expect(system.admin.mqtt_connection.mqtt_password).toBe(before.mqtt_connection.mqtt_password)
    const c = await connectClient(system.mqttUrl, 'admin.again', loginOf(system.admin.mqtt_connection))
    try {
      expect((await c.request('auth.bind', { mqtt_password: before.mqtt_connection.mqtt_password })).code).toBe(0)
      const tree = await c.request('org.tree')
      expect(tree.data.employees.map((e: { employee_id: string }) => e.employee_id)).toContain('emp_lisi_emb')
    } finally {
      await c.end()
    }
  }, 60_000)
})
