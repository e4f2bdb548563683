import { inboxTopic } from '../schema/index.ts'
import { loginOf } from '../test/support/logins.ts'
import { connectClient } from '../test/support/mqtt-client.ts'
import type { BenchContext, CaseResult, Measure } from './context.ts'
import type { Run } from './load.ts'
import { meterCpu, startChild } from './procs.ts'
import { measure } from './request-response.ts'

/** Senders, each bound as an employee of its own and writing to the next one's inbox. */
const SENDERS = 20
const OFFERED_RATE = 500
const LIGHT_RATE = 100
const SATURATION_IN_FLIGHT = 100

/**
 * D: msg.send_private end to end — relay, signed HTTP call, the worker's one round trip to
 * Postgres through the Neon driver, the rate limiter asked in parallel through Upstash REST, the
 * inbox delivery, then the reply — at a fixed offered rate, and flat out.
 */
export async function runSendPrivate(ctx: BenchContext): Promise<CaseResult> {
  const sys = await ctx.system()
  ctx.log(`D: binding ${SENDERS} senders`)
  // Logins matter only on a broker that checks them (the embedded one); Mosquitto here takes any.
  const admin = await connectClient(sys.mqttUrl, 'admin.bench-d', loginOf(sys.admin.mqtt_connection))
  const ids: string[] = []
  const logins: Array<{ username: string; password: string }> = []
  try {
    const bound = await admin.request('auth.bind', { mqtt_password: sys.admin.mqtt_connection.mqtt_password })
    if (bound.code !== 0) throw new Error(`admin auth.bind: ${JSON.stringify(bound)}`)
    for (let i = 0; i < SENDERS; i++) {
      const employee_id = `emp_bench_d${String(i).padStart(2, '0')}`
      const made = await admin.request('employee.create', { name: `Sender ${i}`, employee_id })
      if (made.code !== 0) throw new Error(`employee.create: ${JSON.stringify(made)}`)
      const login = {
        username: made.data.mqtt_connection.mqtt_username as string,
        password: made.data.mqtt_connection.mqtt_password as string,
      }
      const device = await connectClient(sys.mqttUrl, `${employee_id}.load`, login)
      const b = await device.request('auth.bind', { mqtt_password: made.data.mqtt_connection.mqtt_password })
      await device.end()
      if (b.code !== 0) throw new Error(`auth.bind: ${JSON.stringify(b)}`)
      ids.push(employee_id)
      logins.push(login)
    }
  } finally {
    await admin.end()
  }

  /** Waits until the relay has answered everything, so one measure's backlog is not the next one's. */
  const settle = async () => {
    const deadline = Date.now() + 60_000
    while (sys.relay.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  }

  const loader = await startChild('load')
  try {
    await loader.call('load.connect', {
      url: sys.mqttUrl,
      clients: ids.map((id, i) => ({
        clientId: `${id}.load`,
        payload: JSON.stringify({
          action: 'msg.send_private',
          to_employee_id: ids[(i + 1) % ids.length],
          content: 'The build is green again; merging after lunch.',
        }),
        subscribe: [inboxTopic(id)],
        ...logins[i],
      })),
    })
    const sources = {
      load: loader,
      [`relay+workers+endpoints${sys.kind === 'real' ? '' : '+broker'}`]: 'self' as const,
      ...ctx.brokerSource(sys.mqttUrl),
    }
    const q = ctx.quick
    /** One measure: its CPU per request, and what the workers warned about meanwhile. */
    const run = async (name: string, cmd: string, args: object, requests: (r: Run) => number): Promise<Measure> => {
      await settle()
      const m = await meterCpu(sources)
      const { result: r, warnings } = await ctx.countingWarnings(async () => {
        const r = await ctx.profiled(`D-${cmd.slice(5)}`, [loader, 'self'], () => loader.call<Run>(cmd, args))
        await settle()
        return r
      })
      const out = {
        ...measure(name, r, await m.done(requests(r))),
        ...(Object.keys(warnings).length ? { warnings } : {}),
      }
      const l = out.latency!
      ctx.log(
        `  ${name}: p50 ${l.p50.toFixed(2)} ms, p95 ${l.p95.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, ${Math.round(r.throughput)}/s answered, errors ${out.errors}, lost ${r.lost}, CPU µs/req ${JSON.stringify(out.cpu)}`,
      )
      return out
    }

    ctx.log('D: warm-up')
    await loader.call('load.closed', { concurrency: 10, warmupMs: 0, durationMs: q ? 500 : 2000 })
    const seqOpts = q ? { n: 100, warmup: 10 } : { n: 500, warmup: 50 }
    const sequential = await run('sequential', 'load.sequential', seqOpts, (r) => r.latencies.length + seqOpts.warmup)
    const openOpts = { warmupMs: q ? 500 : 1000, durationMs: q ? 3000 : 10_000 }
    const offered: Measure[] = []
    // The target's rate, and a light one to show the latency of a system that is not saturated.
    for (const rate of [LIGHT_RATE, OFFERED_RATE]) {
      ctx.log(`D: ${rate} requests/s offered`)
      offered.push({
        ...(await run(`${rate}/s offered`, 'load.open', { ...openOpts, rate }, (r) => r.sent)),
        offered: rate,
      })
    }
    ctx.log(`D: saturation, ${SATURATION_IN_FLIGHT} in flight`)
    const closedOpts = { concurrency: SATURATION_IN_FLIGHT, warmupMs: q ? 500 : 1000, durationMs: q ? 2000 : 8000 }
    const saturation = await run(
      `saturation (${SATURATION_IN_FLIGHT} in flight)`,
      'load.closed',
      closedOpts,
      (r) => r.sent,
    )

    const profiles = ctx.takeProfiles()
    return {
      id: 'D',
      title: 'msg.send_private end to end (Postgres + rate limiter)',
      setup:
        `The system as test/support/system.ts starts it (${sys.kind === 'real' ? 'Mosquitto, PostgreSQL and Redis' : 'EMBEDDED broker, PGlite and limiter'}; relay, workers on Node, the local Neon and Upstash endpoints in the main process). ` +
        `${SENDERS} bound senders in a child process, each subscribed to its inbox, each message to another sender's inbox; every request asks the limiter (limits raised so none is refused). ` +
        `Open loop at ${LIGHT_RATE}/s, then ${OFFERED_RATE}/s, ${openOpts.durationMs / 1000} s each (latency from when each request was due); saturation: ${SATURATION_IN_FLIGHT} in flight for ${closedOpts.durationMs / 1000} s. Each measure starts once the previous one's backlog is answered.`,
      measures: [sequential, ...offered, saturation],
      ...(Object.keys(profiles).length ? { profiles } : {}),
    }
  } finally {
    await loader.stop()
  }
}
