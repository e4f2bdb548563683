import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project root (test/runtimes/ → ../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name)

// Last resort: if the test process goes away without its afterAll, take the children with it.
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs a command to completion. After timeoutMs it gets SIGTERM (wrangler's launcher forwards that
 * to its CLI child), SIGKILL 3 s later, and the promise rejects once it has exited.
 */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  const started = performance.now()
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    let timedOut = false
    let kill: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      kill = setTimeout(() => child.kill('SIGKILL'), 3_000)
    }, opts.timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      clearTimeout(kill)
      live.delete(child)
    }
    child.once('error', (err) => {
      done()
      reject(err)
    })
    child.once('close', (code, signal) => {
      done()
      if (timedOut)
        reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${opts.timeoutMs} ms\n${stdout}\n${stderr}`))
      else resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
  })
}

export interface Server {
  child: ChildProcess
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. Safe to call twice. */
  stop(graceMs?: number): Promise<void>
}

/** Starts a long-running process (a server); call stop() in afterAll. */
export function start(cmd: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Server {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.once('error', (err) => (out += `\n[spawn error] ${err.message}`))
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  void exited.then(() => live.delete(child))
  return {
    child,
    output: () => out,
    async stop(graceMs = 3_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Polls GET url until it answers 200; fails early if the server exits, and after timeoutMs. */
export async function waitForHttp(url: string, server: Server, timeoutMs: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `server exited (${server.child.exitCode ?? server.child.signalCode}) before ${url} answered:\n${server.output()}`,
      )
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      await res.body?.cancel()
      if (res.ok) return performance.now() - started
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Sends a harness-built Request (addressed to http://workers.test) to a real server at base. */
export async function sendTo(
  base: string,
  req: Request,
  override?: { body?: string; headers?: Record<string, string | null> },
): Promise<Response> {
  const headers = new Headers(req.headers)
  for (const [k, v] of Object.entries(override?.headers ?? {})) {
    if (v === null) headers.delete(k)
    else headers.set(k, v)
  }
  const body = override?.body ?? new Uint8Array(await req.arrayBuffer())
  return fetch(new URL(new URL(req.url).pathname, base), {
    method: req.method,
    headers,
    body,
    signal: AbortSignal.timeout(10_000),
  })
}
