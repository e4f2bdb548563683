import type { BenchContext, Broker, CaseResult, Measure } from './context.ts'
import type { Run } from './load.ts'
import { meterCpu, startChild, type Child } from './procs.ts'
import { median, summarize, type Summary } from './stats.ts'

/** A responder behind the broker: the echo (A), the relay with its worker (B, C). */
export interface RequestResponseCase {
  id: string
  title: string
  setup: string
  start(ctx: BenchContext, broker: Broker): Promise<{ sources: Record<string, Child | 'self'>; stop(): Promise<void> }>
}

/** Ten devices share the 50 requests in flight, as many clients would. */
export const LOAD_CLIENTS = 10
export const IN_FLIGHT = 50
const PAYLOAD = JSON.stringify({
  action: 'msg.send_private',
  to_employee_id: 'emp_bench_peer',
  content: 'Lunch at 12:30? The usual place.',
})

/**
 * A, B and C measured the same way: one request at a time, then 50 in flight. With more than one
 * of them selected they run interleaved (A B C A B C …) over several rounds and each figure is the
 * median of its rounds, so a neighbour's burst of load does not land on one case only.
 */
export async function runRequestResponse(ctx: BenchContext, cases: RequestResponseCase[]): Promise<CaseResult[]> {
  const rounds = ctx.quick ? 1 : 3
  const seq = ctx.quick ? { n: 300, warmup: 50 } : { n: 2000, warmup: 200 }
  const closed = ctx.quick
    ? { concurrency: IN_FLIGHT, warmupMs: 300, durationMs: 1500 }
    : { concurrency: IN_FLIGHT, warmupMs: 1000, durationMs: 5000 }
  const perCase = new Map<string, Array<{ sequential: Measure; concurrent: Measure }>>(cases.map((c) => [c.id, []]))
  const profiles: Record<string, CaseResult['profiles']> = {}

  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) {
      ctx.log(`${c.id} round ${round}/${rounds}: ${c.title}`)
      const broker = await ctx.broker()
      const loader = await startChild('load')
      let responder: Awaited<ReturnType<RequestResponseCase['start']>> | undefined
      try {
        responder = await c.start(ctx, broker)
        await loader.call('load.connect', {
          url: broker.url,
          clients: Array.from({ length: LOAD_CLIENTS }, (_, i) => ({
            clientId: `emp_bench_${i}.load`,
            payload: PAYLOAD,
          })),
        })
        // An embedded broker runs in the main process: its CPU is in the responder's figure.
        const sources = {
          load: loader,
          ...responder.sources,
          ...(typeof broker.pid === 'number' ? { broker: broker.pid } : {}),
        }
        let m = await meterCpu(sources)
        const s = await loader.call<Run>('load.sequential', seq)
        const sequential = measure('sequential', s, await m.done(s.latencies.length + seq.warmup))
        ctx.log(
          `  sequential: p50 ${sequential.latency!.p50.toFixed(3)} ms, p99 ${sequential.latency!.p99.toFixed(3)} ms`,
        )
        m = await meterCpu(sources)
        const profiled: Array<Child | 'self'> =
          round === rounds ? [loader, ...new Set(Object.values(responder.sources))] : []
        const r = await ctx.profiled(`${c.id}-concurrent`, profiled, () => loader.call<Run>('load.closed', closed))
        const concurrent = measure(`${IN_FLIGHT} in flight`, r, await m.done(r.sent + IN_FLIGHT))
        ctx.log(
          `  ${IN_FLIGHT} in flight: ${Math.round(r.throughput)} req/s, p50 ${concurrent.latency!.p50.toFixed(2)} ms, p99 ${concurrent.latency!.p99.toFixed(2)} ms, CPU µs/req ${JSON.stringify(concurrent.cpu)}`,
        )
        perCase.get(c.id)!.push({ sequential, concurrent })
        if (round === rounds) profiles[c.id] = ctx.takeProfiles()
      } finally {
        await loader.stop()
        await responder?.stop()
        await broker.stop()
      }
    }
  }

  return cases.map((c) => {
    const runs = perCase.get(c.id)!
    return {
      id: c.id,
      title: c.title,
      setup: `${c.setup} Load: ${LOAD_CLIENTS} MQTT.js clients in a child process; sequential ${seq.n} requests, then ${IN_FLIGHT} in flight for ${closed.durationMs / 1000} s; median of ${rounds} interleaved round${rounds > 1 ? 's' : ''}.`,
      measures: [medianOf(runs.map((r) => r.sequential)), medianOf(runs.map((r) => r.concurrent))],
      extra: { rounds: runs },
      ...(profiles[c.id] && Object.keys(profiles[c.id]!).length ? { profiles: profiles[c.id] } : {}),
    }
  })
}

export function measure(name: string, r: Run, cpu?: Record<string, number>): Measure {
  const errors = Object.entries(r.codes).reduce((n, [code, k]) => (code === '0' ? n : n + k), 0)
  return {
    name,
    latency: summarize(r.latencies),
    throughput: r.throughput,
    errors,
    lost: r.lost,
    ...(cpu ? { cpu } : {}),
  }
}

/** Each statistic the median of the rounds'. */
function medianOf(ms: Measure[]): Measure {
  const pick = (f: (s: Summary) => number) => median(ms.map((m) => f(m.latency!)))
  const cpuKeys = [...new Set(ms.flatMap((m) => Object.keys(m.cpu ?? {})))]
  return {
    name: ms[0]!.name,
    latency: {
      n: ms.reduce((n, m) => n + m.latency!.n, 0),
      min: Math.min(...ms.map((m) => m.latency!.min)),
      p50: pick((s) => s.p50),
      p95: pick((s) => s.p95),
      p99: pick((s) => s.p99),
      max: Math.max(...ms.map((m) => m.latency!.max)),
      mean: pick((s) => s.mean),
    },
    throughput: median(ms.map((m) => m.throughput!)),
    errors: ms.reduce((n, m) => n + (m.errors ?? 0), 0),
    lost: ms.reduce((n, m) => n + (m.lost ?? 0), 0),
    cpu: Object.fromEntries(cpuKeys.map((k) => [k, median(ms.map((m) => m.cpu?.[k] ?? NaN).filter(Number.isFinite))])),
  }
}
