import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../local/ports.ts'
import { loginOf } from '../support/logins.ts'
import { connectClient } from '../support/mqtt-client.ts'

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx')

/** Runs `npm start`'s command as a process; resolves on exit or once `until` matches its output. */
function launch(env: Record<string, string>) {
  const child = spawn(TSX, ['local/start.ts'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const until = (re: RegExp, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms:\n${out}`)), ms)
      const check = () => re.test(out) && (clearTimeout(timer), child.stdout.off('data', check), resolve())
      child.stdout.on('data', check)
      exited.then(() => (clearTimeout(timer), re.test(out) ? resolve() : reject(new Error(`exited:\n${out}`))))
      check()
    })
  return { child, output: () => out, exited, until }
}

describe('npm start', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mchat-start-'))
  })
  afterAll(async () => rm(dir, { recursive: true, force: true }))

  it(
    'runs the system on embedded defaults, prints "MChat ready", writes admin.json, and stops on SIGTERM',
    { timeout: 60_000 },
    async () => {
      const [mqtt, ws, http, s3] = [await freePort(), await freePort(), await freePort(), await freePort()]
      const [ops, web] = [await freePort(), await freePort()]
      // A tight management limit shows the embedded default rate-limits (settings pass through).
      const p = launch({
        MCHAT_DATA_DIR: dir,
        MCHAT_MQTT_PORT: String(mqtt),
        MCHAT_MQTT_WS_PORT: String(ws),
        MCHAT_HTTP_PORT: String(http),
        MCHAT_S3_PORT: String(s3),
        MCHAT_OPS_PORT: String(ops),
        MCHAT_WEB_PORT: String(web),
        RATE_LIMIT_MANAGEMENT: '2/1h',
      })
      try {
        await p.until(/^MChat ready/m, 45_000)
        expect(p.output()).toMatch(/rate limiter embedded/)
        expect(p.output()).toContain(`object storage (S3): http://127.0.0.1:${s3}`)
        // The relay's ops server: subscribed, so healthy; Prometheus text with the relay's series.
        expect(p.output()).toContain(`relay metrics and health: http://127.0.0.1:${ops}/metrics`)
        expect((await fetch(`http://127.0.0.1:${ops}/healthz`)).status).toBe(200)
        // The admin web console, with the broker's WebSocket URL in its runtime config.
        expect((await (await fetch(`http://127.0.0.1:${web}/config.json`)).json()).brokerUrl).toBe(
          `ws://127.0.0.1:${ws}/mqtt`,
        )
        expect(await (await fetch(`http://127.0.0.1:${ops}/metrics`)).text()).toMatch(
          /^mchat_relay_in_flight\{relay="mchat-relay-local"\} 0$/m,
        )
        const admin = JSON.parse(await readFile(join(dir, 'admin.json'), 'utf8'))
        expect(admin.mqtt_connection).toMatchObject({ broker_port: mqtt, mqtt_username: 'admin' })
        const c = await connectClient(`mqtt://127.0.0.1:${mqtt}`, 'admin.start', loginOf(admin.mqtt_connection))
        try {
          expect((await c.request('auth.bind', { mqtt_password: admin.mqtt_connection.mqtt_password })).code).toBe(0)
          expect((await c.request('org.tree')).code).toBe(0)
          expect(await c.request('org.tree')).toMatchObject({ code: 429, data: { retry_after_ms: expect.any(Number) } })
        } finally {
          await c.end()
        }
      } finally {
        p.child.kill('SIGTERM')
      }
      expect(await p.exited).toBe(0)
    },
  )

  it('says in one line that a port is taken, and exits non-zero', { timeout: 60_000 }, async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const taken = (blocker.address() as { port: number }).port
    try {
      const p = launch({
        MCHAT_DATA_DIR: dir,
        MCHAT_MQTT_PORT: String(taken),
        MCHAT_MQTT_WS_PORT: '0',
        MCHAT_HTTP_PORT: '0',
        MCHAT_OPS_PORT: 'off',
        MCHAT_WEB_PORT: 'off',
        MCHAT_S3_PORT: '0',
      })
      expect(await p.exited).toBe(1)
      const errors = p
        .output()
        .split('\n')
        .filter((l) => /fail|error/i.test(l))
      expect(errors).toEqual([`MChat failed to start: MQTT: port ${taken} on 127.0.0.1 is already in use`])
    } finally {
      blocker.close()
    }
  })
})
