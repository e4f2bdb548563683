import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { RequestLogLine } from '../../relay/log.ts'
import { ROOT } from '../runtimes/process.ts'

export interface RelayProcess {
  child: ChildProcess
  /** stdout and stderr as printed so far. */
  output(): string
  /** The relay's per-request log lines (its stdout) so far. */
  lines(): RequestLogLine[]
  /** Resolves once the relay says it is subscribed; rejects if it exits first or after `timeoutMs`. */
  subscribed(timeoutMs?: number): Promise<void>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL, the way a crash or an OOM kill ends it: no drain, no DISCONNECT. */
  kill(): Promise<void>
  /** SIGTERM (a drain), SIGKILL after `graceMs`; resolves with how it exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const live = new Set<ChildProcess>()
process.once('exit', () => live.forEach((c) => c.kill('SIGKILL')))

/**
 * Runs the standalone relay (relay/main.ts) configured by `env`. Node itself with tsx's loader, not
 * the `tsx` launcher: the launcher runs the script in a child process, so a SIGKILL sent to it
 * would leave the real relay running.
 */
export function spawnRelay(env: Record<string, string>): RelayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join('relay', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let out = ''
  let stdout = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((out += d), (stdout += d)))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    }),
  )
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    child,
    output: () => out,
    lines: () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as RequestLogLine),
    async subscribed(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      while (!/relay: subscribed /.test(out)) {
        if (!running()) throw new Error(`relay exited before subscribing:\n${out}`)
        if (Date.now() > deadline) throw new Error(`relay did not subscribe within ${timeoutMs} ms:\n${out}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    exited,
    async kill() {
      if (running()) child.kill('SIGKILL')
      await exited
    },
    async stop(graceMs = 10_000) {
      if (running()) child.kill('SIGTERM')
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs)
      const r = await exited
      clearTimeout(timer)
      return r
    },
  }
}
