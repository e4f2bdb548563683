import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  ACTION_NAMES,
  groupTopic,
  inboxTopic,
  MAX_JSON_DEPTH,
  profileTopic,
  replyTopic,
  requestTopic,
  statusTopic,
  SYSTEM_NOTIFY_TOPIC,
  type MqttConnection,
} from '../../schema/index.ts'
import { RELAY_DEFAULTS } from '../../relay/config.ts'
import { connectBound, loginOf } from '../support/logins.ts'
import { connectMqtt, type TestClient } from '../support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * The attack suite (issue: the broker lets no one in where they don't belong): real MQTT clients
 * against the embedded broker — which asks the workers' authn/authz hooks — with the relay, the
 * workers and the machine's PostgreSQL and Redis when present.
 */
let sys: TestSystem
let admin: TestClient
const creds: Record<string, MqttConnection> = {}
const open: Array<{ end(): Promise<unknown> }> = []
let groupId = ''

const settle = () => new Promise((r) => setTimeout(r, 300))

async function as(employeeId: string, device: string): Promise<TestClient> {
  const c = await connectBound(sys.mqttUrl, creds[employeeId]!, device)
  open.push(c)
  return c
}

beforeAll(async () => {
  // Limits high enough for the fuzzing below; limiting itself is tested elsewhere.
  sys = await startTestSystem({
    broker: 'embedded',
    log: () => {},
    bindings: { RATE_LIMIT_MESSAGE: '999999/10s', RATE_LIMIT_MANAGEMENT: '999999/10s' },
  })
  creds.admin = sys.admin.mqtt_connection
  admin = await as('admin', 'atk')
  for (const employee_id of ['atk_alice', 'atk_bob', 'atk_carol', 'atk_dave']) {
    const r = await admin.request('employee.create', { employee_id, name: employee_id })
    expect(r.code).toBe(0)
    creds[employee_id] = r.data.mqtt_connection
  }
  const g = await admin.request('group.create', {
    name: 'no alice here',
    member_ids: ['atk_bob', 'atk_carol', 'atk_dave'],
  })
  expect(g.code).toBe(0)
  groupId = g.data.group_id
}, 90_000)

afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => {})))
  await sys?.close()
})

describe('identity', () => {
  it('nobody connects as another employee or under another employee’s client id, and the victim stays connected', async () => {
    const bob = await as('atk_bob', 'phone')
    const alice = loginOf(creds.atk_alice!)
    const attempts = [
      { clientId: 'atk_bob.phone', ...alice },
      { clientId: 'atk_bob.phone', username: 'atk_bob', password: creds.atk_alice!.mqtt_password },
      { clientId: 'atk_bob.phone' },
      { clientId: 'atk_bob.laptop', username: 'atk_bob' },
      { clientId: 'atk_alice.phone', username: 'mchat-relay', password: creds.atk_alice!.mqtt_password },
      { clientId: 'ops:atk_alice.cli', username: 'ops:atk_alice', password: creds.atk_alice!.mqtt_password },
    ]
    for (const a of attempts) {
      await expect(connectMqtt(sys.mqttUrl, { ...a, protocolVersion: 4 }), JSON.stringify(a)).rejects.toThrow(
        /bad username or password/i,
      )
    }
    expect(bob.client.connected).toBe(true)
    expect((await bob.request('org.tree')).code).toBe(0)
  })
})

describe('credentials', () => {
  it('rotation drops the other live connections and refuses the old password; disabling drops and refuses the employee', async () => {
    const r = await admin.request('employee.create', { employee_id: 'atk_erin', name: 'Erin' })
    creds.atk_erin = r.data.mqtt_connection
    const erin = await as('atk_erin', 'phone')
    const laptop = await as('atk_erin', 'laptop')
    const dropped = new Promise<void>((resolve) => laptop.client.once('close', () => resolve()))
    const ch = (await erin.request('auth.challenge', { for_action: 'employee.update' })).data
    const rotated = await erin.request('employee.update', {
      employee_id: 'atk_erin',
      updates: { rotate_credentials: true },
      challenge_id: ch.challenge_id,
      token: ch.token,
    })
    expect(rotated.code).toBe(0)
    await dropped
    // The rotating device stays connected to receive the new password, and must bind again with it.
    expect(erin.client.connected).toBe(true)
    expect((await erin.request('org.tree')).code).toBe(401)
    const old = creds.atk_erin!
    await expect(
      connectMqtt(sys.mqttUrl, { clientId: 'atk_erin.laptop', protocolVersion: 4, ...loginOf(old) }),
    ).rejects.toThrow(/bad username or password/i)
    creds.atk_erin = rotated.data.mqtt_connection
    expect((await erin.request('auth.bind', { mqtt_password: creds.atk_erin!.mqtt_password })).code).toBe(0)
    await erin.end()
    const again = await as('atk_erin', 'phone')

    const gone = new Promise<void>((resolve) => again.client.once('close', () => resolve()))
    const ach = (await admin.request('auth.challenge', {})).data
    expect(
      (
        await admin.request('employee.update', {
          employee_id: 'atk_erin',
          updates: { status: 'disabled' },
          challenge_id: ach.challenge_id,
          token: ach.token,
        })
      ).code,
    ).toBe(0)
    await gone
    await expect(
      connectMqtt(sys.mqttUrl, { clientId: 'atk_erin.phone', protocolVersion: 4, ...loginOf(creds.atk_erin!) }),
    ).rejects.toThrow(/bad username or password/i)
  })
})

describe('subscriptions', () => {
  it('another’s inbox, replies, profile, a group one is not in, or wildcards: refused, and no message ever arrives', async () => {
    const alice = await as('atk_alice', 'snoop')
    const bob = await as('atk_bob', 'snooped')
    await bob.subscribe(inboxTopic('atk_bob'))
    await bob.subscribe(groupTopic(groupId))
    const filters = [
      inboxTopic('atk_bob'),
      'mchat/msg/resp/atk_bob.snooped/+',
      profileTopic('atk_bob'),
      groupTopic(groupId),
      'mchat/inbox/+',
      'mchat/group/+',
      'mchat/#',
      '#',
      'mchat/msg/req/+/+',
      '$share/x/mchat/msg/req/+/+',
    ]
    for (const f of filters) expect([f, await grantFor(alice.client, f)]).toEqual([f, 128])
    const before = alice.received.length
    expect(
      (await admin.request('msg.send_private', { to_employee_id: 'atk_bob', content: 'secret for bob' })).code,
    ).toBe(0)
    expect((await admin.request('group.member_add', { group_id: groupId, member_ids: ['admin'] })).code).toBe(0)
    expect((await admin.request('msg.send_group', { group_id: groupId, content: 'secret for the group' })).code).toBe(0)
    expect((await bob.request('org.tree')).code).toBe(0)
    await bob.waitFor(inboxTopic('atk_bob'), (p) => p.content === 'secret for bob')
    await bob.waitFor(groupTopic(groupId), (p) => p.content === 'secret for the group')
    await settle()
    expect(alice.received.slice(before)).toEqual([])
  })
})

describe('publishing', () => {
  it('into inboxes, groups, profiles, notices, replies, another’s status or another client’s requests: refused, nothing delivered', async () => {
    const bob = await as('atk_bob', 'target')
    const carol = await as('atk_carol', 'target')
    for (const t of [
      inboxTopic('atk_bob'),
      groupTopic(groupId),
      profileTopic('atk_bob'),
      SYSTEM_NOTIFY_TOPIC,
      statusTopic('atk_bob'),
    ])
      await bob.subscribe(t)
    await carol.subscribe(inboxTopic('atk_carol'))
    const forged = JSON.stringify({
      msg_id: 'msg_forged',
      type: 'private',
      from_employee_id: 'admin',
      to_employee_id: 'atk_bob',
      content: 'forged',
      sent_at: new Date().toISOString(),
    })
    const asBob = JSON.stringify({ action: 'msg.send_private', to_employee_id: 'atk_carol', content: 'forged' })
    const targets: Array<[string, string]> = [
      [inboxTopic('atk_bob'), forged],
      [groupTopic(groupId), forged],
      [profileTopic('atk_bob'), forged],
      [SYSTEM_NOTIFY_TOPIC, forged],
      [statusTopic('atk_bob'), JSON.stringify({ status: 'offline', updated_at: new Date().toISOString() })],
      [
        replyTopic('atk_bob.target', 'forged-1'),
        JSON.stringify({ seq_id: 'forged-1', code: 0, message: 'ok', data: 'forged' }),
      ],
      [requestTopic('atk_bob.target', 'forged-2'), asBob],
    ]
    let device = 0
    for (const [topic, payload] of targets) {
      const c = await connectMqtt(sys.mqttUrl, {
        clientId: `atk_alice.pub${device++}`,
        protocolVersion: 4,
        ...loginOf(creds.atk_alice!),
      })
      const closed = new Promise<void>((r) => c.once('close', () => r()))
      // The broker drops the connection instead of acknowledging (EMQX: deny_action = disconnect).
      c.publish(topic, payload, { qos: 1 })
      await closed
      c.end(true)
    }
    await settle()
    expect(bob.received.filter((m) => JSON.stringify(m.payload).includes('forged'))).toEqual([])
    expect(carol.received.filter((m) => JSON.stringify(m.payload).includes('forged'))).toEqual([])
    // Bob's own presence was never overwritten with the forged "offline".
    expect(bob.received.filter((m) => m.topic === statusTopic('atk_bob'))).toEqual([])
  })
})

describe('membership', () => {
  it('a removed member receives nothing sent after the removal — connected or in an offline persistent session', async () => {
    const carol = await as('atk_carol', 'member')
    await carol.subscribe(groupTopic(groupId))
    // Dave keeps a persistent session subscribed to the group while offline.
    const daveOpts = {
      clientId: 'atk_dave.tablet',
      clean: false,
      protocolVersion: 4 as const,
      ...loginOf(creds.atk_dave!),
    }
    const dave = await connectMqtt(sys.mqttUrl, daveOpts)
    await dave.subscribeAsync(groupTopic(groupId), { qos: 1 })
    await dave.endAsync()

    expect((await admin.request('msg.send_group', { group_id: groupId, content: 'before removal' })).code).toBe(0)
    await carol.waitFor(groupTopic(groupId), (p) => p.content === 'before removal')
    const removed = await admin.request('group.member_remove', {
      group_id: groupId,
      member_ids: ['atk_carol', 'atk_dave'],
    })
    expect([removed.code, removed.data.removed_ids]).toEqual([0, ['atk_carol', 'atk_dave']])

    const bob = await as('atk_bob', 'member')
    await bob.subscribe(groupTopic(groupId))
    expect((await admin.request('msg.send_group', { group_id: groupId, content: 'after removal' })).code).toBe(0)
    await bob.waitFor(groupTopic(groupId), (p) => p.content === 'after removal')
    // Subscribing again is refused now.
    expect(await grantFor(carol.client, groupTopic(groupId))).toBe(128)
    expect((await admin.request('msg.send_group', { group_id: groupId, content: 'after resubscribing' })).code).toBe(0)
    await bob.waitFor(groupTopic(groupId), (p) => p.content === 'after resubscribing')

    const daveBack: Array<{ topic: string; content: string }> = []
    const back = await connectMqtt(sys.mqttUrl, { ...daveOpts, reconnectPeriod: 0 })
    open.push({ end: () => back.endAsync() })
    back.on('message', (topic, buf) => daveBack.push({ topic, content: JSON.parse(buf.toString()).content }))
    await settle()
    expect(carol.received.filter((m) => m.topic === groupTopic(groupId)).map((m) => m.payload.content)).toEqual([
      'before removal',
    ])
    expect(daveBack.filter((m) => m.topic === groupTopic(groupId))).toEqual([])
  })
})

describe('underscore-form client ids at the broker', () => {
  it('a shorter employee id cannot connect under a longer one’s client id, and revoking one never drops the other’s', async () => {
    // atk_eve_x first: created after atk_eve it would be refused (it extends atk_eve's id).
    const conns: Record<string, MqttConnection> = {}
    for (const employee_id of ['atk_eve_x', 'atk_eve']) {
      const r = await admin.request('employee.create', { employee_id, name: employee_id })
      expect(r.code).toBe(0)
      conns[employee_id] = r.data.mqtt_connection
    }
    const login = (who: string, clientId: string) => ({
      clientId,
      protocolVersion: 4 as const,
      reconnectPeriod: 0,
      ...loginOf(conns[who]!),
    })
    const refused = await connectMqtt(sys.mqttUrl, login('atk_eve', 'atk_eve_x_phone')).then(
      (c) => (open.push({ end: () => c.endAsync() }), 'connected'),
      (e: Error) => e.message,
    )
    expect(refused).toMatch(/Bad username or password|Not authorized/)

    const g = await admin.request('group.create', { name: 'eves', member_ids: ['atk_eve', 'atk_eve_x'] })
    expect(g.code).toBe(0)
    const topic = groupTopic(g.data.group_id)
    const heard: Record<string, string[]> = { atk_eve_tablet: [], atk_eve_x_phone: [] }
    for (const [who, cid] of [
      ['atk_eve', 'atk_eve_tablet'],
      ['atk_eve_x', 'atk_eve_x_phone'],
    ] as const) {
      const c = await connectMqtt(sys.mqttUrl, login(who, cid))
      open.push({ end: () => c.endAsync() })
      c.on('message', (_t, buf) => void heard[cid]!.push(String(JSON.parse(buf.toString()).content)))
      await c.subscribeAsync(topic, { qos: 1 })
    }
    expect((await admin.request('msg.send_group', { group_id: g.data.group_id, content: 'before' })).code).toBe(0)
    await vi.waitFor(() => expect([heard.atk_eve_tablet, heard.atk_eve_x_phone]).toEqual([['before'], ['before']]))
    // atk_eve_x_phone starts with atk_eve_ too: its form alone would make it atk_eve's.
    const removed = await admin.request('group.member_remove', { group_id: g.data.group_id, member_ids: ['atk_eve'] })
    expect(removed.code).toBe(0)
    expect((await admin.request('msg.send_group', { group_id: g.data.group_id, content: 'after' })).code).toBe(0)
    await vi.waitFor(() => expect(heard.atk_eve_x_phone).toEqual(['before', 'after']))
    await settle()
    expect(heard.atk_eve_tablet).toEqual(['before'])
  })
})

describe('hostile strings', () => {
  const strings = [
    "Robert'); DROP TABLE employee;--",
    "x' OR '1'='1",
    '"; DELETE FROM audit_log; --',
    '$1 $2 ::jsonb \\x00 \\u0000',
    '%s%n%x ${7*7} {{7*7}}',
    '<script>alert(1)</script>',
    'a\u202Egnp.exe',
    '👨‍👩‍👧‍👦 🏳️‍🌈 e\u0301\u0301',
    'a\u200b\u200d\ufeffb',
    '𝕳𝖊𝖑𝖑𝖔 中文 テスト 한국어 العربية',
  ]

  it('are stored and returned literally in every text field', async () => {
    const bob = await as('atk_bob', 'strings')
    await bob.subscribe(inboxTopic('atk_bob'))
    for (const [i, s] of strings.entries()) {
      const dept = await admin.request('department.create', { name: s })
      expect(dept.code, s).toBe(0)
      const emp = await admin.request('employee.create', {
        employee_id: `atk_str_${i}`,
        name: s,
        department_id: dept.data.department_id,
        skills_badge: [s],
      })
      expect(emp.code, s).toBe(0)
      const group = await admin.request('group.create', { name: s, description: s, member_ids: ['atk_bob'] })
      expect(group.code, s).toBe(0)
      const sent = await admin.request('msg.send_private', { to_employee_id: 'atk_bob', content: s })
      expect(sent.code, s).toBe(0)
      expect((await bob.waitFor(inboxTopic('atk_bob'), (p) => p.msg_id === sent.data.msg_id)).payload.content).toBe(s)
    }
    const tree = await admin.request('org.tree')
    for (const [i, s] of strings.entries()) {
      const e = tree.data.employees.find((x: { employee_id: string }) => x.employee_id === `atk_str_${i}`)
      expect([e.name, e.skills_badge]).toEqual([s, [s]])
      expect(tree.data.departments.some((d: { name: string }) => d.name === s)).toBe(true)
    }
    const groups = await admin.request('group.list')
    for (const s of strings)
      expect(
        groups.data.groups.some((g: { name: string }) => g.name === s),
        s,
      ).toBe(true)
    // A NUL character cannot be stored by Postgres: refused as bad input, not a server fault.
    const nul = await admin.request('department.create', { name: 'a\u0000b' })
    expect(nul.code).toBe(400)
  })
})

describe('malformed requests', () => {
  it('oversized → 413; deeply nested or malformed JSON → 400', async () => {
    const seqs = ['big', 'deep', 'deep-in-field', 'broken', 'truncated']
    const bodies = [
      JSON.stringify({ action: 'org.tree', pad: 'x'.repeat(RELAY_DEFAULTS.maxRequestBytes) }),
      `{"action":"org.tree","x":${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}}`,
      JSON.stringify({ action: 'department.create', name: [[[[['x']]]]] }),
      '{"action": "org.tree",,}',
      '{"action": "msg.send_private", "to_employee_id": "atk_bob", "content": "unfinish',
    ]
    const replies = await Promise.all(
      seqs.map(async (seq, i) => {
        const waiting = admin.waitFor(replyTopic(admin.clientId, seq))
        await admin.publishRaw(requestTopic(admin.clientId, seq), bodies[i]!)
        return (await waiting).payload.code as number
      }),
    )
    expect(replies).toEqual([413, 400, 400, 400, 400])
  })
})

describe('fuzzing', () => {
  it(
    '10,000 random and mutated seed payloads: every request answered, no 500, the relay stays up, memory settles back',
    { timeout: 300_000 },
    async () => {
      const N = 10_000
      const fuzzer = await connectMqtt(sys.mqttUrl, {
        clientId: 'admin.fuzz',
        protocolVersion: 4,
        ...loginOf(creds.admin!),
      })
      open.push({ end: () => fuzzer.endAsync() })
      const replies = new Map<string, number>()
      const waiting = new Map<string, () => void>()
      fuzzer.on('message', (topic, buf) => {
        const seq = topic.slice(topic.lastIndexOf('/') + 1)
        replies.set(seq, JSON.parse(buf.toString()).code)
        waiting.get(seq)?.()
      })
      await fuzzer.subscribeAsync('mchat/msg/resp/admin.fuzz/+', { qos: 1 })
      await ask(
        fuzzer,
        'bind',
        JSON.stringify({ action: 'auth.bind', mqtt_password: creds.admin!.mqtt_password }),
        waiting,
      )
      expect(replies.get('bind')).toBe(0)

      const gc = collector()
      gc()
      const heapBefore = process.memoryUsage().heapUsed
      const random = mulberry32(20261121)
      const seeds = seedExamples(groupId)
      let next = 0
      const worker = async () => {
        while (next < N) {
          const i = next++
          await ask(fuzzer, `f${i}`, mutate(seeds[i % seeds.length]!, random), waiting)
        }
      }
      await Promise.all(Array.from({ length: 50 }, worker))

      const codes = new Map<number, number>()
      for (let i = 0; i < N; i++) {
        const code = replies.get(`f${i}`)
        codes.set(code ?? -1, (codes.get(code ?? -1) ?? 0) + 1)
      }
      console.log(`fuzz reply codes: ${JSON.stringify(Object.fromEntries(codes))}`)
      expect(codes.get(-1) ?? 0).toBe(0)
      expect(codes.get(500) ?? 0).toBe(0)
      expect([...codes.keys()].every((c) => c === 0 || (c >= 400 && c < 500))).toBe(true)
      expect(sys.relay.isReady()).toBe(true)
      expect((await admin.request('org.tree')).code).toBe(0)

      waiting.clear()
      replies.clear()
      gc()
      const grown = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20
      console.log(`heap after fuzzing: ${grown.toFixed(1)} MiB over the start`)
      expect(grown).toBeLessThan(48)
    },
  )
})

/** The SUBACK's return code: 128 is a refusal (MQTT.js reports it as an error). */
function grantFor(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve) =>
    c.subscribe(filter, { qos: 1 }, (err, granted) => resolve(err ? 128 : granted![0]!.qos)),
  )
}

function ask(c: MqttClient, seq: string, body: string | Buffer, waiting: Map<string, () => void>): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.set(seq, () => (waiting.delete(seq), resolve()))
    c.publish(requestTopic('admin.fuzz', seq), body, { qos: 1 })
  })
}

// The seed 002 §3 examples, addressed to what exists in this system.
function seedExamples(group: string): Array<Record<string, unknown>> {
  return [
    { action: 'auth.challenge' },
    { action: 'employee.create', name: '李四', is_ai_agent: false },
    { action: 'employee.update', employee_id: 'atk_bob', updates: { name: '新名字', skills_badge: ['⚡'] } },
    { action: 'org.tree' },
    { action: 'department.create', name: '华东区', sort_order: 1 },
    { action: 'department.update', department_id: 'dept_nope', updates: { name: '华东销售区', sort_order: 2 } },
    { action: 'department.delete', department_id: 'dept_nope' },
    { action: 'group.create', name: 'XX项目组', member_ids: ['atk_bob', 'atk_alice'] },
    { action: 'group.member_add', group_id: group, member_ids: ['atk_alice'] },
    { action: 'group.member_remove', group_id: group, member_ids: ['atk_alice'] },
    { action: 'group.dismiss', group_id: 'grp_nope' },
    { action: 'group.list' },
    { action: 'msg.send_private', to_employee_id: 'atk_bob', content: '你好，下午会议改到 3 点。' },
    { action: 'msg.send_group', group_id: group, content: { type: 'text', body: '大家记得更新进度到文档。' } },
    { action: 'msg.read_ack', msg_id: 'msg_abc123', conversation_type: 'private', peer_employee_id: 'atk_bob' },
    { action: 'agent.capability_list', skill: '订单查询' },
    { action: 'audit.query', limit: 5 },
  ]
}

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  2 ** 53 + 1,
  '',
  ' ',
  'x'.repeat(5000),
  '\u0000',
  '👨‍👩‍👧',
  "'; DROP TABLE x;--",
  [],
  [1, [2, [3]]],
  {},
  { a: { b: { c: {} } } },
  '../../etc/passwd',
  'mchat/#',
  '$share/x/y',
]

function mutate(seed: Record<string, unknown>, random: () => number): string | Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const p: Record<string, unknown> = structuredClone(seed)
  const keys = Object.keys(p)
  switch (Math.floor(random() * 9)) {
    case 0:
      return Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)))
    case 1: {
      const s = JSON.stringify(p)
      // At least one byte: an empty payload clears a retained message and is no request (docs/operations.md).
      return s.slice(0, 1 + Math.floor(random() * (s.length - 1)))
    }
    case 2:
      delete p[pick(keys)]
      break
    case 3:
      p[pick(keys)] = pick(ODD_VALUES)
      break
    case 4:
      p[`junk_${Math.floor(random() * 1000)}`] = pick(ODD_VALUES)
      break
    case 5:
      p.action = pick([...ACTION_NAMES, 'nope', '', 'org.tree\u0000', 'ORG.TREE'])
      break
    case 6:
      p.seq_id = pick(['other', 0, null])
      break
    case 7:
      for (const k of keys) if (k !== 'action' && random() < 0.5) p[k] = pick(ODD_VALUES)
      break
    default:
      return JSON.stringify(pick(ODD_VALUES))
  }
  return JSON.stringify(p)
}

function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a |= 0
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// A full collection before each heap reading, so the comparison is of live memory only.
function collector(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
