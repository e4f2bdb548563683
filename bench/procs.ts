import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** A forked bench/child.ts, driven by request/response messages. */
export interface Child {
  name: string
  pid: number
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>
  on(event: string, f: (data: any) => void): void
  /** CPU time (user + system) in ms used so far. */
  cpuMs(): Promise<number>
  stop(): Promise<void>
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

export async function startChild(name: string): Promise<Child> {
  // execArgv is inherited: the tsx loader, and --cpu-prof when the parent was started with it.
  const child = fork(CHILD, [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  live.add(child)
  let next = 0
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  const listeners = new Map<string, Array<(data: any) => void>>()
  let ready: () => void
  const isReady = new Promise<void>((r) => (ready = r))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.on(
    'message',
    (m: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string; data?: unknown }) => {
      if (m.event === 'ready') return ready()
      if (m.event) return listeners.get(m.event)?.forEach((f) => f(m.data))
      const w = waiting.get(m.id!)
      if (!w) return
      waiting.delete(m.id!)
      if (m.ok) w.resolve(m.result)
      else w.reject(new Error(`${name}: ${m.error}`))
    },
  )
  child.once('exit', (code, signal) => {
    live.delete(child)
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (${signal ?? code})`))
    waiting.clear()
  })
  await Promise.race([isReady, exited.then(() => Promise.reject(new Error(`${name} exited before it was ready`)))])
  const call = <T>(cmd: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = next++
      waiting.set(id, { resolve, reject })
      child.send({ id, cmd, args })
    })
  return {
    name,
    pid: child.pid!,
    call,
    on: (event, f) => listeners.set(event, [...(listeners.get(event) ?? []), f]),
    cpuMs: async () => {
      const u = await call<NodeJS.CpuUsage>('cpu')
      return (u.user + u.system) / 1000
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await call('stop').catch(() => {})
      await exited
      clearTimeout(timer)
    },
  }
}

export function ownCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const TICK_MS = 10 // USER_HZ is 100 on Linux

/** CPU time in ms of another process (Mosquitto), or NaN where /proc cannot tell. */
export function pidCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * TICK_MS
  } catch {
    return NaN
  }
}

/** The process listening on 127.0.0.1:port (to account for Mosquitto's CPU); undefined if unknown. */
export function pidListeningOn(port: number): number | undefined {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0')
    const inodes = new Set<string>()
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // st 0A is LISTEN
      if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A') inodes.add(f[9]!)
    }
    if (inodes.size === 0) return undefined
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds: string[]
      try {
        fds = readdirSync(`/proc/${pid}/fd`)
      } catch {
        continue
      }
      for (const fd of fds) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
          if (m && inodes.has(m[1]!)) return Number(pid)
        } catch {
          // gone meanwhile
        }
      }
    }
  } catch {
    // not Linux
  }
  return undefined
}

/** CPU used by each process over a phase: take() before, then done(requests) after. */
export interface CpuMeter {
  done(requests: number): Promise<Record<string, number>>
}

/**
 * `sources` name each process; `'self'` is this process. The result is CPU µs per request, the
 * figure a noisy machine disturbs least (it does not count time spent waiting for a core).
 */
export async function meterCpu(sources: Record<string, Child | 'self' | number | undefined>): Promise<CpuMeter> {
  const read = async (s: Child | 'self' | number | undefined) =>
    s === 'self' ? ownCpuMs() : typeof s === 'number' || s === undefined ? pidCpuMs(s) : await s.cpuMs()
  const before: Record<string, number> = {}
  for (const [k, s] of Object.entries(sources)) before[k] = await read(s)
  return {
    async done(requests) {
      const out: Record<string, number> = {}
      for (const [k, s] of Object.entries(sources)) {
        const used = (await read(s)) - before[k]!
        if (Number.isFinite(used)) out[k] = Math.round((used * 1000) / Math.max(1, requests))
      }
      return out
    },
  }
}
