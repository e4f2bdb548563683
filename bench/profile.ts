import { Session } from 'node:inspector/promises'
import { writeFile } from 'node:fs/promises'

/**
 * CPU profiles of the measured phase only (setup and connection storms would swamp them),
 * taken from inside each process with the inspector; the files open in Chrome DevTools or
 * speedscope like those of `node --cpu-prof`.
 */

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
}
export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

let session: Session | undefined

export async function startProfile(): Promise<void> {
  if (session) return
  session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
}

/** Stops the profiler, writes the .cpuprofile and returns what took the time. */
export async function stopProfile(file: string): Promise<ProfileSummary | null> {
  if (!session) return null
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile }
  session.disconnect()
  session = undefined
  await writeFile(file, JSON.stringify(profile))
  return summarizeProfile(profile)
}

export interface ProfileSummary {
  /** Busy time (not idle) in ms. */
  busyMs: number
  /** Self time by area: a package, the project folder, node internals, GC. */
  areas: Array<{ area: string; ms: number; share: number }>
  functions: Array<{ fn: string; area: string; ms: number; share: number }>
}

/** Where a frame's code lives: `mqtt`, `relay/`, `node:internal`, `(garbage collector)`… */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm) return nm[1]!
  if (url.startsWith('node:')) return url.startsWith('node:internal/deps/undici') ? 'undici (node)' : 'node:internal'
  const project = /\/(relay|workers|schema|local|bench|test)\//.exec(url)
  if (project) return `${project[1]}/`
  return url.replace(/^.*\//, '')
}

export function summarizeProfile(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]))
  const self = new Map<number, number>()
  const samples = p.samples ?? []
  const deltas = p.timeDeltas ?? []
  // timeDeltas[i] is the time before sample i; charge it to the sample that ends the interval.
  for (let i = 0; i < samples.length; i++)
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? 0) / 1000)
  const areas = new Map<string, number>()
  const fns = new Map<string, { area: string; ms: number }>()
  let busy = 0
  for (const [id, t] of self) {
    const cf = byId.get(id)!
    if (cf.functionName === '(idle)') continue
    busy += t
    const area = areaOf(cf.url, cf.functionName)
    areas.set(area, (areas.get(area) ?? 0) + t)
    const where = cf.url
      ? `${cf.url.replace(/^.*\/(node_modules\/|relay\/|workers\/|schema\/|local\/|bench\/)/, '$1')}:${cf.lineNumber + 1}`
      : ''
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim()
    const f = fns.get(key) ?? { area, ms: 0 }
    f.ms += t
    fns.set(key, f)
  }
  const share = (v: number) => (busy ? v / busy : 0)
  return {
    busyMs: busy,
    areas: [...areas]
      .map(([area, t]) => ({ area, ms: t, share: share(t) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
    functions: [...fns]
      .map(([fn, f]) => ({ fn, area: f.area, ms: f.ms, share: share(f.ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  }
}

export function formatProfile(title: string, s: ProfileSummary, lines = 12): string {
  const out = [`${title}: ${s.busyMs.toFixed(0)} ms busy`]
  out.push(
    '  by area:     ' +
      s.areas
        .slice(0, 8)
        .map((a) => `${a.area} ${(a.share * 100).toFixed(0)}%`)
        .join(', '),
  )
  for (const f of s.functions.slice(0, lines)) out.push(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.fn}`)
  return out.join('\n')
}

// `npx tsx bench/profile.ts FILE.cpuprofile…`: the same summary for profiles taken with `node --cpu-prof`.
if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const { readFile } = await import('node:fs/promises')
  for (const file of process.argv.slice(2))
    console.log(
      formatProfile(file, summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile), 20) + '\n',
    )
}
