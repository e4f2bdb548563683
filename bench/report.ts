import { readFile } from 'node:fs/promises'
import type { CaseResult, Environment, Measure } from './context.ts'
import type { RoundTrips } from '../test/support/round-trips.ts'
import { ms, pct, rate } from './stats.ts'

export interface BenchReport {
  startedAt: string
  seconds: number
  command: string
  quick: boolean
  profiled: boolean
  environment: Environment & { machine: Environment['machine'] & { loadAtEnd: number[] } }
  cases: CaseResult[]
}

export interface TargetCheck {
  target: string
  figure: string
  /** null: not measured in this run. */
  met: boolean | null
}

const find = (r: BenchReport, id: string) => r.cases.find((c) => c.id === id)
const measureOf = (c: CaseResult | undefined, prefix: string): Measure | undefined =>
  c?.measures.find((m) => m.name.startsWith(prefix))

/** The issue's targets, evaluated on this run's figures. Reported, never asserted. */
export function checkTargets(r: BenchReport): TargetCheck[] {
  const a = find(r, 'A')
  const b = find(r, 'B')
  const aC = measureOf(a, '50 in flight')
  const bC = measureOf(b, '50 in flight')
  const aS = measureOf(a, 'sequential')
  const bS = measureOf(b, 'sequential')
  const dO = measureOf(find(r, 'D'), '500/s')
  const eL = measureOf(find(r, 'E'), 'last of')
  const size = find(r, 'size')?.extra as { gzipKiB: number } | undefined
  const out: TargetCheck[] = []
  if (aC && bC) {
    const ratio = bC.throughput! / aC.throughput!
    out.push({
      target: 'B throughput ≥ 50 % of A (50 in flight)',
      figure: `${pct(ratio)} (${rate(bC.throughput)} vs ${rate(aC.throughput)})`,
      met: ratio >= 0.5,
    })
  } else out.push({ target: 'B throughput ≥ 50 % of A (50 in flight)', figure: 'not run (needs A and B)', met: null })
  if (aS && bS) {
    const added = bS.latency!.p50 - aS.latency!.p50
    out.push({
      target: 'B adds ≤ 0.5 ms to A’s p50 (sequential)',
      figure: `+${ms(added)} ms (${ms(bS.latency!.p50)} vs ${ms(aS.latency!.p50)} ms)`,
      met: added <= 0.5,
    })
  } else out.push({ target: 'B adds ≤ 0.5 ms to A’s p50 (sequential)', figure: 'not run (needs A and B)', met: null })
  out.push(
    dO
      ? {
          target: 'D p99 ≤ 20 ms at 500 requests/s offered',
          figure: `p99 ${ms(dO.latency!.p99)} ms (${dO.errors ?? 0} errors${dO.lost ? `, ${dO.lost} unanswered 5 s after the end` : ''}; saturation ${rate(measureOf(find(r, 'D'), 'saturation')?.throughput)})`,
          met: dO.latency!.p99 <= 20 && !dO.lost,
        }
      : { target: 'D p99 ≤ 20 ms at 500 requests/s offered', figure: 'not run', met: null },
  )
  const fullGroup = eL !== undefined && /2,000/.test(eL.name)
  out.push(
    eL
      ? {
          target: 'E last of 2,000 deliveries ≤ 200 ms at p99',
          figure: `p99 ${ms(eL.latency!.p99)} ms (${eL.name}${fullGroup ? '' : ': quick mode, not the target’s group'})`,
          met: fullGroup ? eL.latency!.p99 <= 200 && !eL.lost : null,
        }
      : { target: 'E last of 2,000 deliveries ≤ 200 ms at p99', figure: 'not run', met: null },
  )
  out.push(
    size
      ? {
          target: 'Worker bundle ≤ 150 KiB gzip',
          figure: `${size.gzipKiB.toFixed(1)} KiB gzip`,
          met: size.gzipKiB <= 150,
        }
      : { target: 'Worker bundle ≤ 150 KiB gzip', figure: 'not run', met: null },
  )
  return out
}

const verdict = (t: TargetCheck) => (t.met === null ? '–' : t.met ? 'met' : 'MISSED')

function cpuText(cpu: Record<string, number> | undefined): string {
  return cpu
    ? Object.entries(cpu)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : ''
}

/** Rows of the summary table: every measure with a latency or throughput. */
function rows(r: BenchReport): string[][] {
  const out: string[][] = []
  for (const c of r.cases) {
    for (const m of c.measures) {
      const l = m.latency
      const warned = Object.entries(m.warnings ?? {}).map(
        ([k, n]) =>
          `${n} × ${k}${k === 'ratelimit_unavailable' ? ' (the limiter missed its deadline; let through)' : ''}`,
      )
      const issues = [
        m.errors ? `${m.errors} errors` : '',
        m.lost
          ? `${m.lost} ${c.id === 'E' ? 'messages not on every device within 10 s' : 'unanswered 5 s after the end'}`
          : '',
        ...warned,
        m.note ?? '',
      ]
        .filter(Boolean)
        .join(', ')
      out.push([
        c.id,
        m.name,
        ms(l?.p50),
        ms(l?.p95),
        ms(l?.p99),
        m.throughput !== undefined && c.id !== 'cold' ? rate(m.throughput) : '',
        issues,
      ])
    }
  }
  const size = find(r, 'size')?.extra as { rawKiB: number; gzipKiB: number } | undefined
  if (size)
    out.push([
      'size',
      'worker bundle',
      '',
      '',
      '',
      '',
      `${size.gzipKiB.toFixed(1)} KiB gzip (${size.rawKiB.toFixed(1)} KiB)`,
    ])
  return out
}

const HEAD = ['case', 'measure', 'p50 ms', 'p95 ms', 'p99 ms', 'throughput', '']

/** The plain-text table printed at the end of a run. */
export function renderTable(r: BenchReport): string {
  const table = [HEAD, ...rows(r)]
  const widths = HEAD.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i >= 2 && i <= 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const out = [line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)]
  out.push('', ...ratios(r).map((x) => `• ${x}`))
  out.push('', 'targets:')
  for (const t of checkTargets(r)) out.push(`  ${verdict(t).padEnd(6)} ${t.target}: ${t.figure}`)
  const rt = find(r, 'rt')?.extra as { table: Record<string, RoundTrips> } | undefined
  if (rt)
    out.push(
      '',
      'database round trips (queries/waves): ' +
        Object.entries(rt.table)
          .map(([a, t]) => `${a} ${t.queries}/${t.waves}`)
          .join(', '),
    )
  return out.join('\n')
}

/** What the request/response cases say relative to each other. */
function ratios(r: BenchReport): string[] {
  const get = (id: string, m: string) => measureOf(find(r, id), m)
  const [aS, bS, cS] = ['A', 'B', 'C'].map((id) => get(id, 'sequential'))
  const [aC, bC, cC] = ['A', 'B', 'C'].map((id) => get(id, '50 in flight'))
  const out: string[] = []
  if (aC && bC)
    out.push(
      `B reaches ${pct(bC.throughput! / aC.throughput!)} of A’s throughput and adds ${ms(bS!.latency!.p50 - aS!.latency!.p50)} ms to its sequential p50.`,
    )
  if (aC && cC)
    out.push(
      `C (no HTTP hop) reaches ${pct(cC.throughput! / aC.throughput!)} of A’s throughput and adds ${ms(cS!.latency!.p50 - aS!.latency!.p50)} ms to its p50.`,
    )
  if (bC && cC) {
    out.push(
      `The HTTP hop (B vs C) costs ${ms(bS!.latency!.p50 - cS!.latency!.p50)} ms at p50 one at a time, and ${(bC.cpu?.relay ?? NaN) + (bC.cpu?.worker ?? NaN) - (cC.cpu?.['relay+worker'] ?? NaN)} µs of CPU per request (relay + worker, B minus C); ` +
        `with 50 in flight C reaches ${pct(cC.throughput! / bC.throughput!)} of B’s throughput (C’s one process also runs the worker, B’s worker has a process and a core of its own).`,
    )
  }
  const relayCpu = bC?.cpu?.relay
  const echoCpu = aC?.cpu?.responder
  if (relayCpu && echoCpu)
    out.push(
      `CPU per request: the relay uses ${relayCpu} µs where the echo uses ${echoCpu} µs (the no-op worker adds ${bC?.cpu?.worker ?? '?'} µs in its own process).`,
    )
  return out
}

function mdTable(head: string[], body: string[][], right: number[] = []): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|')
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((_, i) => (right.includes(i) ? '---:' : '---')).join('|')}|`,
    ...body.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ].join('\n')
}

/** docs/benchmarks.md: everything generated from this run, then the hand-written analysis. */
export async function renderMarkdown(r: BenchReport): Promise<string> {
  const e = r.environment
  const m = e.machine
  const services =
    e.services === 'real'
      ? `real services: ${[e.mosquitto, e.postgres, 'Redis'].filter(Boolean).join(', ')}`
      : `**embedded services** (${e.embeddedBecause}): the in-process MQTT broker (aedes), PGlite and the in-process limiter — not comparable with a run on real services`
  const out: string[] = []
  out.push('# Benchmarks', '')
  out.push(
    '<!-- Generated by `npm run bench` (bench/report.ts): edit bench/notes.md or the report writer, not this file. -->',
    '',
    `How close the relay comes to the bare MQTT limit, and what a message costs end to end, measured side by side in **one run** on one machine. ` +
      `Timings are never pass/fail tests; rerun with \`npm run bench\` and compare ratios rather than absolutes.`,
    '',
    `- **Run:** ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ${r.seconds} s, \`${r.command}\`${r.quick ? ' (quick mode: shorter runs, smaller group)' : ''}. One run.`,
    `- **Machine:** ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. Load average ${m.loadAtStart.join(' / ')} at the start, ${m.loadAtEnd.join(' / ')} at the end${m.loadAtStart[0]! > 0.5 ? ' — the machine was not idle, so absolute figures are noisy' : ''}.`,
    `- **Services:** ${services}.`,
    `- **Processes:** the load generator (MQTT.js) always runs in a child process of its own, as clients would be on other machines; the responder side (echo, relay, the system of D/E) runs in the main process. See "How each case is run".`,
    '',
  )
  out.push('## Results', '', mdTable(HEAD.slice(0, 6).concat(['notes']), rows(r), [2, 3, 4, 5]), '')
  const rs = ratios(r)
  if (rs.length) out.push(...rs.map((x) => `- ${x}`), '')

  out.push(
    '## Against the targets',
    '',
    mdTable(
      ['target', 'this run', ''],
      checkTargets(r).map((t) => [t.target, t.figure, verdict(t)]),
    ),
    '',
  )
  out.push('A miss is explained under "Analysis" below, with its cause.', '')

  const cpuRows: string[][] = []
  for (const c of r.cases)
    for (const x of c.measures) if (x.cpu && Object.keys(x.cpu).length) cpuRows.push([c.id, x.name, cpuText(x.cpu)])
  if (cpuRows.length) {
    out.push(
      '## CPU per request',
      '',
      'CPU time (user + system) each process spent per request during the measure, in µs. Unlike throughput it hardly moves when other work shares the machine (it does not count time spent waiting for a core), so it is the figure to compare across runs.',
      '',
      mdTable(['case', 'measure', 'µs per request by process'], cpuRows),
      '',
    )
  }

  const rt = find(r, 'rt')?.extra as { table: Record<string, RoundTrips> } | undefined
  if (rt) {
    out.push(
      '## Database round trips per action',
      '',
      'Counted as `workers/round-trips.test.ts` counts them (the test holds the budgets): each query is one HTTP call of the Neon driver, ~5–40 ms at the edge; *waves* are the calls that must wait for one another.',
      '',
      mdTable(
        ['action', 'queries', 'waves'],
        Object.entries(rt.table).map(([a, t]) => [a, String(t.queries), String(t.waves)]),
        [1, 2],
      ),
      '',
    )
  }

  const size = find(r, 'size')?.extra as { files: string[]; rawKiB: number; gzipKiB: number } | undefined
  const cold = find(r, 'cold')
  if (size || cold) {
    out.push('## Worker bundle and cold start', '')
    if (size)
      out.push(
        `\`wrangler deploy --dry-run\`: ${size.files.join(', ')} — ${size.rawKiB.toFixed(1)} KiB, **${size.gzipKiB.toFixed(1)} KiB gzip** (target 150 KiB).`,
        '',
      )
    if (cold) {
      out.push(
        mdTable(
          ['runtime', 'median ms', 'min ms', 'max ms', 'starts', 'note'],
          cold.measures.map((x) => [
            x.name,
            ms(x.latency?.p50),
            ms(x.latency?.min),
            ms(x.latency?.max),
            String(x.latency?.n ?? 0),
            x.note ?? '',
          ]),
          [1, 2, 3, 4],
        ),
        '',
        cold.setup,
        '',
      )
    }
  }

  out.push('## How each case is run', '')
  for (const c of r.cases) out.push(`- **${c.id} — ${c.title}.** ${c.setup}`)
  out.push('')

  const profiled = r.cases.filter((c) => c.profiles && Object.keys(c.profiles).length)
  if (profiled.length) {
    out.push('## Profiles of this run', '')
    for (const c of profiled) {
      for (const [who, p] of Object.entries(c.profiles!)) {
        out.push(
          `**${who}** (${p.busyMs.toFixed(0)} ms busy): ${p.areas
            .slice(0, 8)
            .map((a) => `${a.area} ${pct(a.share)}`)
            .join(', ')}`,
          '',
        )
      }
    }
  }

  out.push(
    '## Rerunning',
    '',
    '```sh',
    'npm run bench                 # everything; rewrites this file and docs/benchmarks.json',
    'npm run bench -- B D          # a subset (A B C D E size cold rt); prints the table, JSON to the temp dir',
    'npm run bench -- --quick      # shorter runs and a 500-member group, to try the harness',
    'npm run bench -- A B --profile  # CPU profiles of the measured phases (.cpuprofile), summarised',
    'npm run bench -- --embedded   # force the embedded broker/database/limiter',
    'npm run bench -- --render     # rewrite this file from docs/benchmarks.json (after editing bench/notes.md)',
    '```',
    '',
  )

  const notes = await readFile(new URL('./notes.md', import.meta.url), 'utf8').catch(() => '')
  if (notes.trim()) out.push(notes.trim(), '')
  return out.join('\n')
}
