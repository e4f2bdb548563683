import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadOrCreateKeys } from '../local/keys.ts'
import { OPS_ROUTES_TOPIC, opsCanaryTopic, requestTopic, SYSTEM_NOTIFY_TOPIC } from '../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../test/support/fake-worker.ts'
import { loginOf } from '../test/support/logins.ts'
import { connectClient, connectMqtt, type TestClient } from '../test/support/mqtt-client.ts'
import { startMosquitto, type MosquittoProcess } from '../test/support/mosquitto.ts'
import { realServicesMissing } from '../test/support/services.ts'
import { startTestSystem, type TestSystem } from '../test/support/system.ts'
import { issueOpsCredential } from '../workers/lib/credentials.ts'
import { CanaryAnalyzer, type CanaryEvent } from './canary-analysis.ts'
import { RELAY_DEFAULTS } from './config.ts'
import { followRouteFile, readRouteFile, RouteSource } from './route-source.ts'
import { startRelay, type Relay } from './relay.ts'
import { routeTable, type RouteTable } from './routes.ts'

/**
 * Route tables published on the retained ops topic `mchat/ops/routes`: relays of a share group on
 * a real Mosquitto converge on them (and on each other's canary decisions); on the broker that
 * enforces the hooks only an ops identity may publish them; and the CLI end to end.
 */

const dirs: string[] = []
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mchat-ops-routes-'))
  dirs.push(d)
  return d
}

/** The SUBACK's return code: 128 is a refusal (MQTT.js reports it as an error). */
function grantFor(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve) =>
    c.subscribe(filter, { qos: 1 }, (err, granted) => resolve(err ? 128 : granted![0]!.qos)),
  )
}

/** Publishes on a broker that drops the connection instead of acknowledging; resolves how it ended. */
function publishExpectingDrop(c: MqttClient, topic: string, payload: string): Promise<'closed' | 'acknowledged'> {
  return new Promise((resolve) => {
    c.once('close', () => resolve('closed'))
    c.publish(topic, payload, { qos: 1, retain: true }, (err) => !err && resolve('acknowledged'))
  })
}

describe('a weight set by another relay', () => {
  it('is judged afresh: samples taken at the old weight do not promote it again, so a share group steps once per interval', () => {
    const table = (weight: number) =>
      routeTable.parse({
        default: { url: 'http://stable.test' },
        actions: {
          'msg.send_private': {
            canary: {
              target: { url: 'http://canary.test' },
              weight,
              analysis: { interval_ms: 100, min_requests: 5, step_weight: 20, max_weight: 80 },
            },
          },
        },
      })
    const routes = new RouteSource(table(20))
    const events: CanaryEvent[] = []
    const analyzer = new CanaryAnalyzer(routes, { onEvent: (e) => events.push(e), tickMs: 3_600_000 })
    try {
      for (let i = 0; i < 10; i++) analyzer.record('msg.send_private', 'canary', 0, 1)
      routes.hold(table(40), OPS_ROUTES_TOPIC) // another relay's promotion, arriving on the topic
      analyzer.check(Date.now() + 150)
      expect(events).toEqual([])
      for (let i = 0; i < 10; i++) analyzer.record('msg.send_private', 'canary', 0, 1)
      analyzer.check(Date.now() + 300)
      expect(events.map((e) => [e.event, e.weight])).toEqual([['canary_promotion', 60]])
    } finally {
      analyzer.stop()
    }
  })
})

describe.skipIf(realServicesMissing('mosquitto'))(`a share group on Mosquitto follows ${OPS_ROUTES_TOPIC}`, () => {
  let mosquitto: MosquittoProcess
  let stable: FakeWorker
  let canary: FakeWorker
  let observer: MqttClient
  let dir: string
  let routesFile: string
  let stopFollowing: () => void
  const relays: Record<'a' | 'b', Relay> = {} as never
  const served = { a: 0, b: 0 }
  const infos: Record<string, string[]> = { a: [], b: [], c: [] }
  const replies = new Map<string, { code: number; data: { who: string } | null }>()
  const seen: Array<{ topic: string; body: string }> = []
  let n = 0

  const start = (): RouteTable => ({ default: { url: stable.url }, actions: {} })
  const toCanary = (weight: number, analysis?: Record<string, unknown>): RouteTable =>
    routeTable.parse({
      default: { url: stable.url },
      actions: {
        'msg.send_private': { canary: { target: { url: canary.url }, weight, ...(analysis ? { analysis } : {}) } },
      },
    })

  async function send(cid: string): Promise<{ code: number; who: string }> {
    const seq = `o${n++}`
    await observer.publishAsync(
      requestTopic(cid, seq),
      JSON.stringify({ action: 'msg.send_private', to_employee_id: 'x', content: 'hi' }),
      { qos: 1 },
    )
    await vi.waitFor(() => expect(replies.has(`${cid}/${seq}`)).toBe(true), { timeout: 10_000, interval: 5 })
    const r = replies.get(`${cid}/${seq}`)!
    return { code: r.code, who: r.data?.who ?? '-' }
  }
  const batch = (tag: string, size = 20) => Promise.all(Array.from({ length: size }, (_, j) => send(`${tag}_${j}.dev`)))
  // As an ops identity would; this Mosquitto checks no login (the hooks are tested below).
  const publishTable = (payload: RouteTable | string) =>
    observer.publishAsync(OPS_ROUTES_TOPIC, typeof payload === 'string' ? payload : JSON.stringify(payload), {
      qos: 1,
      retain: true,
    })
  const both = () => [relays.a.routes.current, relays.b.routes.current]

  async function relay(id: 'a' | 'b' | 'c', routes: RouteSource): Promise<Relay> {
    const r = await startRelay(
      {
        ...RELAY_DEFAULTS,
        mqttUrl: mosquitto.url,
        clientId: `relay-ops-${id}`,
        shareGroup: 'gateway',
        workerUrl: stable.url,
        privateKeyJwk: (await loadOrCreateKeys(dir)).relayPrivateJwk,
      },
      { routes, log: () => id !== 'c' && served[id]++, info: (m) => infos[id]!.push(m) },
    )
    await r.ready
    return r
  }

  beforeAll(async () => {
    dir = await tempDir()
    mosquitto = await startMosquitto({ extraConfig: ['max_queued_messages 100000'] })
    stable = await startFakeWorker('stable')
    canary = await startFakeWorker('canary')
    // Relay a follows a routes file, relay b was started with a table of its own: they agree only through the topic.
    routesFile = join(dir, 'routes.json')
    await writeFile(routesFile, JSON.stringify(start()))
    const fromFile = new RouteSource(await readRouteFile(routesFile))
    stopFollowing = followRouteFile(routesFile, fromFile, (m) => infos.a!.push(m))
    relays.a = await relay('a', fromFile)
    relays.b = await relay('b', new RouteSource(start()))
    observer = await connectMqtt(mosquitto.url, { clientId: 'ops-observer', protocolVersion: 4 })
    observer.on('message', (topic, payload) => {
      if (topic.startsWith('mchat/ops/')) return void seen.push({ topic, body: payload.toString() })
      const [, , , cid, seq] = topic.split('/')
      replies.set(`${cid}/${seq}`, JSON.parse(payload.toString()))
    })
    await observer.subscribeAsync(['mchat/msg/resp/+/+', OPS_ROUTES_TOPIC, opsCanaryTopic('+')], { qos: 1 })
  }, 60_000)

  afterAll(async () => {
    stopFollowing?.()
    await observer?.endAsync()
    await Promise.all(Object.values(relays).map((r) => r.drain()))
    await mosquitto?.stop()
    await Promise.all([stable?.close(), canary?.close()])
  })

  it(
    'an ops publication switches both relays to the same table; an invalid one is logged and ignored by both',
    { timeout: 60_000 },
    async () => {
      const all = toCanary(100)
      await publishTable(all)
      await vi.waitFor(() => expect(both()).toEqual([all, all]))
      const answered = [...(await batch('sw1')), ...(await batch('sw2'))]
      expect(answered.every((r) => r.code === 0 && r.who === 'canary')).toBe(true)
      expect(served.a).toBeGreaterThan(0) // both members of the share group did the serving
      expect(served.b).toBeGreaterThan(0)

      await publishTable(
        JSON.stringify({
          default: { url: stable.url },
          actions: { 'msg.send_private': { canary: { target: { url: canary.url }, weight: 140 } } },
        }),
      )
      await publishTable('{not json')
      for (const id of ['a', 'b']) {
        await vi.waitFor(() =>
          expect(infos[id]!.filter((m) => m.startsWith(`routes on ${OPS_ROUTES_TOPIC} ignored`))).toHaveLength(2),
        )
      }
      expect(infos.a!.find((m) => m.includes('ignored'))).toMatch(/weight/)
      expect(both()).toEqual([all, all])
    },
  )

  it(
    'a change through the topic during steady load drops no request, and applies on both relays',
    { timeout: 60_000 },
    async () => {
      await publishTable(toCanary(0))
      await vi.waitFor(() => expect(both()).toEqual([toCanary(0), toCanary(0)]))
      let stop = false
      const answered: Array<{ code: number; who: string }> = []
      const load = (async () => {
        for (let i = 0; !stop; i++) answered.push(...(await batch(`load_${i}`)))
      })()
      await vi.waitFor(() => expect(answered.length).toBeGreaterThan(200), { timeout: 20_000 })
      await publishTable(toCanary(100))
      await vi.waitFor(() => expect(both()).toEqual([toCanary(100), toCanary(100)]))
      const switchedAt = answered.length
      await vi.waitFor(() => expect(answered.length).toBeGreaterThan(switchedAt + 200), { timeout: 20_000 })
      stop = true
      await load
      expect(answered.every((a) => a.code === 0)).toBe(true) // every request answered, none failed
      expect(answered.slice(0, 200).every((a) => a.who === 'stable')).toBe(true)
      // Requests published after the switch went to the canary (a batch straddling it may not have).
      expect(answered.slice(switchedAt + 20).every((a) => a.who === 'canary')).toBe(true)
    },
  )

  it(
    'a canary rolled back by a relay’s own analysis: both relays and the retained table end the same, and nobody re-publishes what it received',
    { timeout: 60_000 },
    async () => {
      canary.behave('error')
      const analysed = toCanary(50, {
        interval_ms: 100,
        window_ms: 5000,
        min_requests: 10,
        failed_checks: 2,
        success_rate: 0.95,
      })
      const before = seen.length
      await publishTable(analysed)
      await vi.waitFor(() => expect(both()).toEqual([analysed, analysed]))
      for (let i = 0; both().some((t) => t.actions['msg.send_private']!.canary!.weight > 0); i++) {
        if (i > 200) throw new Error('no rollback after 200 rounds of requests')
        await batch(`rb_${i}`, 10)
      }
      const rolledBack = routeTable.parse({
        ...analysed,
        actions: { 'msg.send_private': { canary: { ...analysed.actions['msg.send_private']!.canary!, weight: 0 } } },
      })
      expect(both()).toEqual([rolledBack, rolledBack])

      // Each decision is announced once and its table published once: what comes back is not sent again.
      const decisions = () =>
        seen
          .slice(before)
          .filter((m) => m.topic === opsCanaryTopic('msg.send_private'))
          .map((m) => JSON.parse(m.body) as { event: string; relay: string })
      const published = () =>
        seen.slice(before).filter((m) => m.topic === OPS_ROUTES_TOPIC && m.body !== JSON.stringify(analysed))
      await vi.waitFor(() => expect(published().length).toBe(decisions().length))
      expect(decisions().length).toBeGreaterThanOrEqual(1)
      expect(
        decisions().every((d) => d.event === 'canary_rollback' && ['relay-ops-a', 'relay-ops-b'].includes(d.relay)),
      ).toBe(true)
      for (const p of published()) expect(JSON.parse(p.body)).toEqual(rolledBack)
      // Still quiet after more traffic, all of it on the stable version now.
      const after = await batch('rb_after', 40)
      expect(after.every((r) => r.code === 0 && r.who === 'stable')).toBe(true)
      expect(published().length).toBe(decisions().length)
      expect(decisions().length).toBeLessThanOrEqual(2)

      // A relay that joins later takes the retained table over its own file.
      const late = await relay('c', new RouteSource(start()))
      try {
        await vi.waitFor(() => expect(late.routes.current).toEqual(rolledBack))
      } finally {
        await late.drain()
      }
      canary.behave('ok')
    },
  )

  it(
    'while the topic holds a table a routes file change waits; clearing the topic hands each relay back to its file',
    { timeout: 60_000 },
    async () => {
      const held = toCanary(5)
      await publishTable(held)
      await vi.waitFor(() => expect(both()).toEqual([held, held]))
      const fileTable = routeTable.parse({
        default: { url: stable.url },
        actions: { 'org.tree': { stable: { url: canary.url } } },
      })
      await writeFile(routesFile, JSON.stringify(fileTable))
      await vi.waitFor(() => expect(infos.a!.some((m) => m.includes('not applied'))).toBe(true))
      expect(relays.a.routes.current).toEqual(held)

      await publishTable('')
      // a: the file as last read; b, which has none: the table it started with.
      await vi.waitFor(() => expect(both()).toEqual([fileTable, start()]))
      expect(relays.a.routes.held).toBe(false)

      // No longer held: the file applies again at once.
      const next = toCanary(30)
      await writeFile(routesFile, JSON.stringify(next))
      await vi.waitFor(() => expect(relays.a.routes.current).toEqual(next))
      expect(relays.b.routes.current).toEqual(start())
    },
  )
})

describe('on the broker that enforces the hooks (embedded broker, workers, PostgreSQL and Redis when present)', () => {
  const BIN = fileURLToPath(new URL('../bin/mchat.mjs', import.meta.url))
  let sys: TestSystem
  let admin: TestClient
  let target: FakeWorker
  let opsToken: string
  let started: RouteTable
  const open: Array<{ end(): Promise<unknown> }> = []

  const ops = async (device: string): Promise<MqttClient> => {
    const c = await connectMqtt(sys.mqttUrl, {
      clientId: `ops:alice.${device}`,
      username: 'ops:alice',
      password: opsToken,
      protocolVersion: 4,
    })
    open.push({ end: () => c.endAsync(true) })
    return c
  }

  /** The CLI as a user runs it: its own process, the system's data dir, nothing else inherited that matters here. */
  function mchat(args: string[], env: Record<string, string> = {}) {
    const { CREDENTIAL_SECRET: _s, MCHAT_ROUTES_FILE: _f, ...inherited } = process.env
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...inherited, MCHAT_DATA_DIR: sys.dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
      child.once('exit', (code) => resolve({ code, out, err })),
    )
  }

  beforeAll(async () => {
    sys = await startTestSystem({ broker: 'embedded', log: () => {} })
    target = await startFakeWorker('ops-target')
    started = sys.relay.routes.current
    const keys = await loadOrCreateKeys(sys.dataDir)
    opsToken = await issueOpsCredential({ CREDENTIAL_SECRET: keys.credentialSecret }, 'alice', 600)
    admin = await connectClient(sys.mqttUrl, 'admin.opsroutes', loginOf(sys.admin.mqtt_connection))
    open.push(admin)
    expect((await admin.request('auth.bind', { mqtt_password: sys.admin.mqtt_connection.mqtt_password })).code).toBe(0)
  }, 90_000)

  afterAll(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => {})))
    await target?.close()
    await sys?.close()
  })

  it(
    'an ops identity publishes a table and the relay serves by it; clearing the topic restores the one it started with',
    { timeout: 60_000 },
    async () => {
      const c = await ops('pub')
      const table = routeTable.parse({ ...started, actions: { 'org.tree': { stable: { url: target.url } } } })
      await c.publishAsync(OPS_ROUTES_TOPIC, JSON.stringify(table), { qos: 1, retain: true })
      await vi.waitFor(() => expect(sys.relay.routes.current).toEqual(table))
      expect(await admin.request('org.tree')).toMatchObject({ code: 0, data: { who: 'ops-target' } })

      await c.publishAsync(OPS_ROUTES_TOPIC, '', { qos: 1, retain: true })
      await vi.waitFor(() => expect(sys.relay.routes.current).toEqual(started))
      const tree = await admin.request('org.tree')
      expect(tree.code).toBe(0)
      expect(tree.data.employees.map((e: { employee_id: string }) => e.employee_id)).toContain('admin')

      // An ops identity is confined to mchat/ops/: anywhere else the broker drops it.
      expect(await publishExpectingDrop(await ops('stray'), SYSTEM_NOTIFY_TOPIC, '{"type":"forged"}')).toBe('closed')
    },
  )

  it(
    'an employee, even an org admin, may neither publish a table (dropped, nothing changes) nor read one',
    { timeout: 60_000 },
    async () => {
      const evil = await connectMqtt(sys.mqttUrl, {
        clientId: 'admin.evil',
        protocolVersion: 4,
        ...loginOf(sys.admin.mqtt_connection),
      })
      open.push({ end: () => evil.endAsync(true) })
      expect(await grantFor(evil, OPS_ROUTES_TOPIC)).toBe(128)
      expect(await grantFor(evil, 'mchat/ops/#')).toBe(128)
      const forged = routeTable.parse({ ...started, actions: { 'org.tree': { stable: { url: target.url } } } })
      expect(await publishExpectingDrop(evil, OPS_ROUTES_TOPIC, JSON.stringify(forged))).toBe('closed')

      // What is retained, and what the relay serves by, is still the ops identity's last word.
      const marker = routeTable.parse({ ...started, timeout_ms: 12_345 })
      const c = await ops('marker')
      await c.publishAsync(OPS_ROUTES_TOPIC, JSON.stringify(marker), { qos: 1, retain: true })
      await vi.waitFor(() => expect(sys.relay.routes.current).toEqual(marker))
      const reader = await ops('reader')
      const retained = new Promise<string>((resolve) => reader.once('message', (_t, p) => resolve(p.toString())))
      await reader.subscribeAsync(OPS_ROUTES_TOPIC, { qos: 1 })
      expect(JSON.parse(await retained)).toEqual(marker)
      expect(sys.relay.routes.current).toEqual(marker)
      expect((await admin.request('org.tree')).data.employees).toBeDefined() // not the forged target
      await c.publishAsync(OPS_ROUTES_TOPIC, '', { qos: 1, retain: true })
      await vi.waitFor(() => expect(sys.relay.routes.current).toEqual(started))
    },
  )

  it(
    'mchat ops-token, then mchat routes … --broker: read, changed and published for the relay; refusals are clear',
    { timeout: 90_000 },
    async () => {
      const dir = await tempDir()
      const issued = await mchat(['ops-token', 'deploy', '--ttl', '600'])
      expect(issued.err).toBe('')
      expect(issued.code).toBe(0)
      const login = JSON.parse(issued.out)
      expect(login).toMatchObject({ mqtt_username: 'ops:deploy', client_id: 'ops:deploy.cli' })
      const expires = Date.parse(login.expires_at) - Date.now()
      expect(expires).toBeGreaterThan(500_000)
      expect(expires).toBeLessThanOrEqual(600_000)
      const opsFile = join(dir, 'ops.json')
      await writeFile(opsFile, issued.out)
      const broker = ['--broker', sys.mqttUrl, '--ops', opsFile]

      // Nothing retained and no file to start from: refused, and the relay keeps its table.
      const nothing = await mchat(['routes', 'show', ...broker])
      expect(nothing.code).toBe(1)
      expect(nothing.err).toContain(`no table is retained on ${OPS_ROUTES_TOPIC}: pass --file`)

      const routesFile = join(dir, 'routes.json')
      const fileTable = routeTable.parse({
        ...started,
        actions: { 'msg.send_private': { canary: { target: { url: target.url }, weight: 10 } } },
      })
      await writeFile(routesFile, JSON.stringify(fileTable))
      const set = await mchat(['routes', 'set', 'msg.send_private', '25', ...broker, '--file', routesFile])
      expect(set.code).toBe(0)
      expect(set.err).toMatch(/starting from .*routes\.json/)
      expect(set.out).toMatch(/msg\.send_private → .*, canary .* at 25 %/)
      await vi.waitFor(() => expect(sys.relay.routes.current.actions['msg.send_private']?.canary?.weight).toBe(25))

      // From now on the retained table is the starting point; the file is not needed.
      const rollback = await mchat(['routes', 'rollback', 'msg.send_private', ...broker])
      expect(rollback.code).toBe(0)
      await vi.waitFor(() =>
        expect(sys.relay.routes.current).toEqual(
          routeTable.parse({
            ...fileTable,
            actions: { 'msg.send_private': { canary: { target: { url: target.url }, weight: 0 } } },
          }),
        ),
      )
      const shown = await mchat(['routes', ...broker])
      expect(shown.code).toBe(0)
      expect(shown.out).toMatch(/canary .* at 0 %/)

      // The same validation as the file mode.
      const bad = await mchat(['routes', 'set', 'msg.send_private', '150', ...broker])
      expect(bad.code).toBe(1)
      expect(bad.err).toMatch(/0–100/)
      const none = await mchat(['routes', 'promote', 'org.tree', ...broker])
      expect(none.code).toBe(1)
      expect(none.err).toMatch(/org.tree has no canary to promote/)
      const half = await mchat(['routes', 'show', '--broker', sys.mqttUrl])
      expect(half.code).toBe(2)

      // A token signed with another secret (CREDENTIAL_SECRET wins over keys.json) gets nowhere.
      const foreign = await mchat(['ops-token', 'deploy'], { CREDENTIAL_SECRET: randomBytes(32).toString('base64url') })
      expect(foreign.code).toBe(0)
      const foreignFile = join(dir, 'foreign.json')
      await writeFile(foreignFile, foreign.out)
      const refused = await mchat([
        'routes',
        'set',
        'msg.send_private',
        '50',
        '--broker',
        sys.mqttUrl,
        '--ops',
        foreignFile,
      ])
      expect(refused.code).toBe(1)
      expect(refused.err).toMatch(/refused ops:deploy/)
      expect(sys.relay.routes.current.actions['msg.send_private']?.canary?.weight).toBe(0)

      const badName = await mchat(['ops-token', 'a b'])
      expect(badName.code).toBe(1)
      expect(badName.err).toMatch(/letters, digits/)

      const cleared = await mchat(['routes', 'clear', ...broker])
      expect(cleared.code).toBe(0)
      await vi.waitFor(() => expect(sys.relay.routes.current).toEqual(started))
    },
  )
})
