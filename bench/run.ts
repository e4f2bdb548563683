import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { caseA } from './case-a.ts'
import { caseB } from './case-b.ts'
import { caseC } from './case-c.ts'
import { runSendPrivate } from './case-d.ts'
import { runSendGroup } from './case-e.ts'
import { runRoundTrips } from './case-rt.ts'
import { runBundle, runColdStart } from './case-runtimes.ts'
import { BenchContext, postgresVersion, type CaseResult } from './context.ts'
import { renderMarkdown, renderTable, type BenchReport } from './report.ts'
import { runRequestResponse, type RequestResponseCase } from './request-response.ts'

/**
 * `npm run bench [-- CASE… ] [--quick] [--profile[=DIR]] [--embedded] [--out FILE.md]`
 * `npm run bench -- --render [FILE.json]`: rewrites the Markdown next to a run's JSON (default
 * docs/benchmarks.json) without measuring, e.g. after editing bench/notes.md.
 *
 * Cases: A B C (request/response), D (msg.send_private), E (msg.send_group fan-out), size (worker
 * bundle), cold (cold starts), rt (database round trips). None named: all of them. A full run
 * (every case, not quick, not profiled) rewrites docs/benchmarks.md and docs/benchmarks.json;
 * any other run prints its table and writes its JSON to the temp directory.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ALL = ['A', 'B', 'C', 'D', 'E', 'size', 'cold', 'rt'] as const
type CaseId = (typeof ALL)[number]

function parseArgs(argv: string[]) {
  const picked = new Set<CaseId>()
  let quick = false
  let profileDir: string | null = null
  let embedded = false
  let out: string | null = null
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--quick') quick = true
    else if (a === '--embedded') embedded = true
    else if (a === '--profile') profileDir = join(tmpdir(), `mchat-bench-profiles-${Date.now().toString(36)}`)
    else if (a.startsWith('--profile=')) profileDir = resolve(a.slice('--profile='.length))
    else if (a === '--out') out = resolve(argv[++i] ?? '')
    else if (a === '--help' || a === '-h') {
      console.log(
        'npm run bench [-- A B C D E size cold rt] [--quick] [--profile[=DIR]] [--embedded] [--out FILE.md]\nnpm run bench -- --render [FILE.json]',
      )
      process.exit(0)
    } else {
      const id = ALL.find((c) => c.toLowerCase() === a.toLowerCase())
      if (!id) throw new Error(`unknown case or option "${a}" (cases: ${ALL.join(' ')})`)
      picked.add(id)
    }
  }
  const cases = picked.size ? ALL.filter((c) => picked.has(c)) : [...ALL]
  return { cases, quick, profileDir, embedded, out }
}

async function main(): Promise<void> {
  const render = process.argv.indexOf('--render')
  if (render >= 0) {
    const json = resolve(process.argv[render + 1] ?? join(ROOT, 'docs', 'benchmarks.json'))
    const md = json.replace(/\.json$/, '') + '.md'
    await writeFile(md, await renderMarkdown(JSON.parse(await readFile(json, 'utf8')) as BenchReport))
    console.log(`wrote ${md}`)
    return
  }
  const args = parseArgs(process.argv.slice(2))
  if (args.profileDir) await mkdir(args.profileDir, { recursive: true })
  const ctx = new BenchContext({ quick: args.quick, profileDir: args.profileDir, embedded: args.embedded })
  const env = ctx.env
  if (env.services === 'real') env.postgres = await postgresVersion()
  ctx.log(
    `MChat benchmarks: ${args.cases.join(' ')}${args.quick ? ' (quick)' : ''}${args.profileDir ? ` (profiling into ${args.profileDir})` : ''}\n` +
      `  ${env.machine.cores} × ${env.machine.cpu}, ${env.machine.memoryGiB} GiB, ${env.machine.os}, Node ${env.machine.node}, load ${env.machine.loadAtStart.join(' ')}\n` +
      `  services: ${env.services === 'real' ? [env.mosquitto, env.postgres, 'Redis'].filter(Boolean).join(', ') : `EMBEDDED (${env.embeddedBecause})`}`,
  )
  const started = new Date()
  const results: CaseResult[] = []
  try {
    const rr: Record<string, RequestResponseCase> = { A: caseA, B: caseB, C: caseC }
    const picked = args.cases.filter((c) => c in rr).map((c) => rr[c]!)
    if (picked.length) results.push(...(await runRequestResponse(ctx, picked)))
    if (args.cases.includes('D')) results.push(await runSendPrivate(ctx))
    if (args.cases.includes('E')) results.push(await runSendGroup(ctx))
    await ctx.close()
    if (args.cases.includes('size')) results.push(await runBundle(ctx))
    if (args.cases.includes('cold')) results.push(await runColdStart(ctx))
    if (args.cases.includes('rt')) results.push(await runRoundTrips(ctx))
  } finally {
    await ctx.close()
  }

  const report: BenchReport = {
    startedAt: started.toISOString(),
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: args.quick,
    profiled: args.profileDir !== null,
    environment: {
      ...env,
      machine: { ...env.machine, loadAtEnd: (await import('node:os')).loadavg().map((l) => Math.round(l * 100) / 100) },
    },
    cases: results,
  }
  console.log('\n' + renderTable(report))

  const full = args.cases.length === ALL.length && !args.quick && !args.profileDir
  const md = args.out ?? (full ? join(ROOT, 'docs', 'benchmarks.md') : null)
  const json = md ? md.replace(/\.md$/, '') + '.json' : join(tmpdir(), `mchat-bench-${Date.now().toString(36)}.json`)
  await writeFile(json, JSON.stringify(report, null, 2) + '\n')
  if (md) await writeFile(md, await renderMarkdown(report))
  ctx.log(
    md
      ? `wrote ${md} and ${json}`
      : `wrote ${json} (docs/benchmarks.md is rewritten only by a full run, or with --out)`,
  )
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`)
    process.exit(1)
  },
)
