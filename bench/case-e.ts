import { neon, neonConfig } from '@neondatabase/serverless'
import { loadOrCreateKeys } from '../local/keys.ts'
import { GROUP_MAX_MEMBERS, groupTopic } from '../schema/index.ts'
import { loginOf } from '../test/support/logins.ts'
import { connectClient } from '../test/support/mqtt-client.ts'
import { issueCredential } from '../workers/lib/credentials.ts'
import type { BenchContext, CaseResult } from './context.ts'
import { meterCpu, startChild, type Child } from './procs.ts'
import { now, summarize } from './stats.ts'

/** Member devices are spread over this many processes: one MQTT.js process per core. */
const SUBSCRIBER_PROCESSES = 2

/**
 * E: msg.send_group to a group of 2,000 with every member's device subscribed. The relay publishes
 * the message once on mchat/group/{id} and the broker fans it out; what counts is the time from
 * the request until the last of the 2,000 devices has it.
 */
export async function runSendGroup(ctx: BenchContext): Promise<CaseResult> {
  const members = ctx.quick ? 500 : GROUP_MAX_MEMBERS
  const sends = ctx.quick ? 8 : 40
  const warmup = 3
  const sys = await ctx.system()
  const prefix = `emp_fan${Date.now().toString(36)}`
  ctx.log(`E: ${members - 1} colleagues in one statement, a group of ${members}`)
  neonConfig.fetchEndpoint = sys.neonEndpoint
  await neon(sys.databaseUrl).query(
    `INSERT INTO employee (employee_id, name) SELECT $1 || '_' || lpad(i::text, 4, '0'), 'Member ' || i FROM generate_series(1, $2::int) AS i`,
    [prefix, members - 1],
  )
  const memberIds = [
    'admin',
    ...Array.from({ length: members - 1 }, (_, i) => `${prefix}_${String(i + 1).padStart(4, '0')}`),
  ]
  const adminLogin = loginOf(sys.admin.mqtt_connection) as { username: string; password: string }
  const admin = await connectClient(sys.mqttUrl, 'admin.bench-e', adminLogin)
  let groupId: string
  try {
    const bound = await admin.request('auth.bind', { mqtt_password: sys.admin.mqtt_connection.mqtt_password })
    if (bound.code !== 0) throw new Error(`admin auth.bind: ${JSON.stringify(bound)}`)
    const made = await admin.request('group.create', { name: 'All hands', member_ids: memberIds })
    if (made.code !== 0) throw new Error(`group.create: ${JSON.stringify(made).slice(0, 300)}`)
    groupId = made.data.group_id as string
  } finally {
    await admin.end()
  }

  const loader = await startChild('load')
  const subs: Child[] = []
  try {
    // The sender is the admin, on a device of its own (bound like any other session).
    await loader.call('load.connect', {
      url: sys.mqttUrl,
      clients: [
        {
          clientId: 'admin.bench-e',
          payload: JSON.stringify({
            action: 'msg.send_group',
            group_id: groupId,
            content: 'Town hall moves to 4 pm, same room.',
          }),
          ...adminLogin,
        },
      ],
    })
    // A broker that checks logins (the embedded one) gets each member's real password, minted as
    // employee.create would have issued it; Mosquitto here takes any.
    const secret = sys.brokerEnforces
      ? { CREDENTIAL_SECRET: (await loadOrCreateKeys(sys.dataDir)).credentialSecret }
      : null
    const issued = new Date()
    const devices = await Promise.all(
      memberIds.map(async (id) => ({
        clientId: `${id}.fan`,
        ...(secret
          ? {
              username: id,
              password: id === 'admin' ? adminLogin.password : await issueCredential(secret as never, id, 1, issued),
            }
          : {}),
      })),
    )
    ctx.log(`E: connecting ${members} member devices in ${SUBSCRIBER_PROCESSES} processes`)
    const completed = new Map<string, Array<{ first: number; last: number; count: number }>>()
    for (let p = 0; p < SUBSCRIBER_PROCESSES; p++) {
      const child = await startChild(`members-${p + 1}`)
      child.on('fanout.complete', (e: { msgId: string; first: number; last: number; count: number }) => {
        completed.set(e.msgId, [...(completed.get(e.msgId) ?? []), e])
      })
      subs.push(child)
    }
    const t = now()
    await Promise.all(
      subs.map((child, p) =>
        child.call('fanout.connect', {
          url: sys.mqttUrl,
          clients: devices.filter((_, i) => i % SUBSCRIBER_PROCESSES === p),
          topic: groupTopic(groupId),
        }),
      ),
    )
    ctx.log(`  connected and subscribed in ${((now() - t) / 1000).toFixed(1)} s`)

    const lastDelivery: number[] = []
    const firstDelivery: number[] = []
    const reply: number[] = []
    let incomplete = 0
    const sources = {
      load: loader,
      [`relay+workers+endpoints${sys.kind === 'real' ? '' : '+broker'}`]: 'self' as const,
      ...ctx.brokerSource(sys.mqttUrl),
      ...Object.fromEntries(subs.map((s) => [s.name, s])),
    }
    const m = await meterCpu(sources)
    const { warnings } = await ctx.countingWarnings(() =>
      ctx.profiled('E-fanout', [loader, 'self', ...subs], async () => {
        for (let i = 0; i < warmup + sends; i++) {
          const r = await loader.call<{ sentAt: number; replyAt: number; code: number; data: { msg_id: string } }>(
            'load.request',
            {},
          )
          if (r.code !== 0) throw new Error(`msg.send_group answered ${r.code}`)
          const msgId = r.data.msg_id
          const deadline = now() + 10_000
          while ((completed.get(msgId)?.length ?? 0) < subs.length && now() < deadline)
            await new Promise((res) => setTimeout(res, 5))
          const parts = completed.get(msgId) ?? []
          if (parts.length < subs.length) {
            incomplete++
            ctx.log(`  message ${i + 1}: not every device had it within 10 s`)
            continue
          }
          if (i < warmup) continue
          lastDelivery.push(Math.max(...parts.map((x) => x.last)) - r.sentAt)
          firstDelivery.push(Math.min(...parts.map((x) => x.first)) - r.sentAt)
          reply.push(r.replyAt - r.sentAt)
          if ((i - warmup + 1) % 10 === 0)
            ctx.log(
              `  ${i - warmup + 1}/${sends} sent; last delivery so far p50 ${summarize(lastDelivery).p50.toFixed(1)} ms`,
            )
          // Idle between messages: this is latency of one message to everyone, not throughput.
          await new Promise((res) => setTimeout(res, 50))
        }
      }),
    )
    const cpu = await m.done(warmup + sends)
    const profiles = ctx.takeProfiles()
    return {
      id: 'E',
      title: `msg.send_group to ${members.toLocaleString('en-US')} subscribed members`,
      setup:
        `The system of D. A group of ${members} (the sender and ${members - 1} others) with one device per member subscribed to the group topic (QoS 1), ` +
        `spread over ${SUBSCRIBER_PROCESSES} child processes; the sender in another. ${sends} messages one after another (after ${warmup} not counted), ` +
        'each timed from publishing the request to the moment the last device received it (CLOCK_MONOTONIC, comparable across processes).',
      measures: [
        { name: 'reply to the sender', latency: summarize(reply) },
        { name: 'first delivery', latency: summarize(firstDelivery) },
        {
          name: `last of ${members.toLocaleString('en-US')} deliveries`,
          latency: summarize(lastDelivery),
          lost: incomplete,
          cpu,
          ...(Object.keys(warnings).length ? { warnings } : {}),
        },
      ],
      extra: { members, sends },
      ...(Object.keys(profiles).length ? { profiles } : {}),
    }
  } finally {
    await loader.stop()
    await Promise.all(subs.map((s) => s.stop()))
  }
}
