import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { cpus, devNull, loadavg, release, totalmem, type as osType } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startEmbeddedBroker } from '../local/broker.ts'
import type { RequestLogger } from '../relay/log.ts'
import { startMosquitto } from '../test/support/mosquitto.ts'
import { mosquittoBin, realPgAdminUrl, realServicesMissing } from '../test/support/services.ts'
import { startTestSystem, type TestSystem } from '../test/support/system.ts'
import { formatProfile, type ProfileSummary } from './profile.ts'
import { pidListeningOn, type Child } from './procs.ts'
import type { Summary } from './stats.ts'

/** One figure of a case: a latency distribution, a throughput, or both. */
export interface Measure {
  name: string
  latency?: Summary
  /** Replies per second. */
  throughput?: number
  /** The offered rate of an open-loop measure. */
  offered?: number
  /** Replies other than code 0, and requests never answered. */
  errors?: number
  lost?: number
  /** CPU µs per request by process: the figure a busy machine disturbs least. */
  cpu?: Record<string, number>
  /** Warnings the workers logged meanwhile, by kind (e.g. ratelimit_unavailable: the limiter failed open). */
  warnings?: Record<string, number>
  note?: string
}

export interface CaseResult {
  id: string
  title: string
  /** How it was run, in a sentence. */
  setup: string
  measures: Measure[]
  /** Case-specific data for the report (bundle sizes, round trips …). */
  extra?: Record<string, unknown>
  profiles?: Record<string, ProfileSummary> | undefined
}

export interface Environment {
  /** Real Mosquitto, PostgreSQL and Redis, or the embedded defaults (and why). */
  services: 'real' | 'embedded'
  embeddedBecause?: string
  mosquitto?: string
  postgres?: string | undefined
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; loadAtStart: number[] }
}

export interface Broker {
  url: string
  kind: 'mosquitto' | 'embedded'
  shareGroup: string
  /** Mosquitto's pid for CPU accounting; 'self' when the broker runs in this process. */
  pid: number | 'self' | undefined
  stop(): Promise<void>
}

export interface BenchOptions {
  quick: boolean
  /** Where CPU profiles of the measured phases go; null: no profiling. */
  profileDir: string | null
  embedded: boolean
}

export class BenchContext {
  readonly env: Environment
  private sys: Promise<TestSystem> | undefined
  private readonly profiles: Record<string, ProfileSummary> = {}
  private readonly started = Date.now()
  /** The relay's request log, formatted as in production and written nowhere. */
  readonly relayLog: RequestLogger

  constructor(readonly o: BenchOptions) {
    if (o.embedded) process.env.MCHAT_TEST_SYSTEM = 'embedded'
    this.env = detectEnvironment(o.embedded)
    const sink = createWriteStream(devNull)
    this.relayLog = (line) => sink.write(JSON.stringify({ t: new Date().toISOString(), ...line }) + '\n')
  }

  get quick(): boolean {
    return this.o.quick
  }

  /** Progress on stderr, stamped with the seconds since the start. */
  log(msg: string): void {
    process.stderr.write(`[${((Date.now() - this.started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`)
  }

  /** A fresh broker for a request/response case: Mosquitto when present, else the embedded one. */
  async broker(): Promise<Broker> {
    if (this.env.services === 'real') {
      // As docs/operations.md asks of a relay's broker: room to queue bursts, and a window of
      // unacknowledged requests as large as the relay's in-flight limit (Mosquitto's default is 20).
      const m = await startMosquitto({ extraConfig: ['max_queued_messages 100000', 'max_inflight_messages 256'] })
      return { url: m.url, kind: 'mosquitto', shareGroup: 'gateway', pid: pidListeningOn(m.port), stop: m.stop }
    }
    const b = await startEmbeddedBroker({ mqttPort: 0 })
    return { url: b.url, kind: 'embedded', shareGroup: '', pid: 'self', stop: b.close }
  }

  /**
   * The whole system as the end-to-end tests run it (test/support/system.ts), shared by D and E:
   * Mosquitto, PostgreSQL through the local Neon endpoint, Redis through the local Upstash
   * endpoint, the workers on Node and the relay, all but the services in this process.
   */
  system(): Promise<TestSystem> {
    return (this.sys ??= (async () => {
      this.log(
        `starting the system (${this.env.services === 'real' ? 'Mosquitto, PostgreSQL, Redis' : 'embedded broker, PGlite, in-process limiter'}) …`,
      )
      const s = await startTestSystem({
        log: this.relayLog,
        bindings: {
          // Every request still asks the limiter; the generator's few employees must not be refused.
          RATE_LIMIT_MESSAGE: '999999/10s',
          RATE_LIMIT_MANAGEMENT: '999999/10s',
        },
      })
      this.log(
        `system up: broker ${s.kind === 'real' ? 'Mosquitto' : 'embedded'}, database ${s.databaseKind}, limiter ${s.limiterKind}`,
      )
      return s
    })())
  }

  /** The broker as a CPU source of its own, or nothing when it runs in this process (counted there). */
  brokerSource(url: string): { broker?: number } {
    const pid = this.env.services === 'real' ? pidListeningOn(Number(new URL(url).port)) : undefined
    return pid === undefined ? {} : { broker: pid }
  }

  /** Runs `fn` with the given processes profiled when profiling is on. */
  async profiled<T>(name: string, children: Array<Child | 'self'>, fn: () => Promise<T>): Promise<T> {
    const dir = this.o.profileDir
    if (!dir) return fn()
    const { startProfile, stopProfile } = await import('./profile.ts')
    for (const c of children) await (c === 'self' ? startProfile() : c.call('profile.start'))
    try {
      return await fn()
    } finally {
      for (const c of children) {
        const who = c === 'self' ? 'main' : c.name
        const file = join(dir, `${name}-${who}.cpuprofile`)
        const s = c === 'self' ? await stopProfile(file) : await c.call<ProfileSummary | null>('profile.stop', { file })
        if (s) {
          this.profiles[`${name} ${who}`] = s
          this.log(`profile written: ${file}\n${formatProfile(`${name} (${who})`, s)}`)
        }
      }
    }
  }

  /**
   * Counts what the workers warn about while `fn` runs (e.g. the limiter failing open), printing
   * the first of each kind only: a saturated system would otherwise flood the terminal.
   */
  async countingWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: Record<string, number> }> {
    const warnings: Record<string, number> = {}
    const original = console.warn
    console.warn = (...args: unknown[]) => {
      const text = args.map(String).join(' ')
      let kind = text.slice(0, 60)
      try {
        kind = (JSON.parse(text) as { event?: string }).event ?? kind
      } catch {
        // not a JSON line
      }
      if (!warnings[kind]) this.log(`  warning (first of its kind, counted from now on): ${text.slice(0, 300)}`)
      warnings[kind] = (warnings[kind] ?? 0) + 1
    }
    try {
      return { result: await fn(), warnings }
    } finally {
      console.warn = original
    }
  }

  takeProfiles(): Record<string, ProfileSummary> {
    const p = { ...this.profiles }
    for (const k of Object.keys(this.profiles)) delete this.profiles[k]
    return p
  }

  async close(): Promise<void> {
    const s = this.sys
    this.sys = undefined
    if (s) await (await s).close()
  }
}

function detectEnvironment(embedded: boolean): Environment {
  const c = cpus()
  const machine = {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  }
  const missing = embedded ? 'asked for (--embedded)' : realServicesMissing('postgres', 'mosquitto', 'redis')
  if (missing !== null) return { services: 'embedded', embeddedBecause: missing, machine }
  const mosquitto = /mosquitto version (\S+)/.exec(spawnSync(mosquittoBin, ['-h'], { encoding: 'utf8' }).stdout)?.[1]
  return { services: 'real', machine, ...(mosquitto ? { mosquitto: `Mosquitto ${mosquitto}` } : {}) }
}

/** PostgreSQL's version, for the report. */
export async function postgresVersion(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: realPgAdminUrl })
  try {
    await c.connect()
    const r = await c.query<{ server_version: string }>('SHOW server_version')
    return `PostgreSQL ${r.rows[0]!.server_version.split(' ')[0]}`
  } catch {
    return undefined
  } finally {
    await c.end().catch(() => {})
  }
}
