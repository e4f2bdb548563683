import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { freePort } from '../../local/ports.ts'
import type { Bindings } from '../../workers/env.ts'
import { startTestDatabase, type TestDatabase } from '../support/db.ts'
import { readAnswer, workerHarness } from '../support/workers.ts'
import { ROOT, bin, run, sendTo, start, waitForHttp, type Server } from './process.ts'

/**
 * The workers as Cloudflare runs them: bundled by `wrangler deploy --dry-run` from wrangler.toml,
 * then that bundle served by workerd (the Workers runtime) with a generated config, answering
 * relay-signed requests from the test database through the Neon driver.
 */

const KiB = 1024
const MAX_GZIP = 1024 * KiB

let tmp: string
/** The bundle wrangler emitted: main module file name and its directory. */
let bundle: { dir: string; main: string } | undefined

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mchat-workerd-'))
})
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('wrangler deploy --dry-run', () => {
  it('bundles the workers, under 1 MiB gzip', { timeout: 120_000 }, async () => {
    const outdir = join(tmp, 'bundle')
    const env = {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      CI: 'true',
      WRANGLER_HIDE_BANNER: 'true',
      WRANGLER_LOG_PATH: join(tmp, 'wrangler-logs'),
      NO_COLOR: '1',
    }
    const r = await run(process.execPath, [bin('wrangler'), 'deploy', '--dry-run', '--outdir', outdir], { env, timeoutMs: 110_000 })
    console.log(`wrangler deploy --dry-run: ${(r.ms / 1000).toFixed(2)} s`)
    expect(r.code, `wrangler failed:\n${r.stdout}\n${r.stderr}`).toBe(0)

    const js = (await readdir(outdir)).filter((f) => /\.m?js$/.test(f))
    expect(js.length, `no JS emitted in ${outdir}`).toBeGreaterThan(0)
    let raw = 0
    let gzip = 0
    for (const f of js) {
      const bytes = await readFile(join(outdir, f))
      raw += bytes.length
      gzip += gzipSync(bytes).length
    }
    console.log(`worker bundle: ${(raw / KiB).toFixed(1)} KiB, ${(gzip / KiB).toFixed(1)} KiB gzip (${js.join(', ')}; target 150 KiB gzip)`)
    expect(gzip).toBeLessThan(MAX_GZIP)
    // wrangler names the main module after wrangler.toml's `main` (workers/entry/cloudflare.ts).
    expect(js).toContain('cloudflare.js')
    bundle = { dir: outdir, main: 'cloudflare.js' }
  })
})

/** compatibility_date / compatibility_flags exactly as wrangler.toml declares them. */
async function compatibility(): Promise<{ date: string; flags: string[] }> {
  const toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8')
  const date = /^\s*compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1]
  if (!date) throw new Error('wrangler.toml has no compatibility_date')
  const flags = /^\s*compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1]
  return { date, flags: [...(flags ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!) }
}

/**
 * A workerd config serving the bundle on 127.0.0.1:port with `env` as text bindings. All outbound
 * fetch() goes through a network service allowing `allow` (workerd's default "internet" service
 * allows only public addresses, so the local Neon endpoint on 127.0.0.1 needs "local").
 */
async function workerdConfig(dir: string, port: number, env: Bindings, allow: string[]): Promise<string> {
  const { date, flags } = await compatibility()
  const q = (s: string): string => JSON.stringify(s) // JSON string escapes are valid Cap'n Proto text escapes
  const bindings = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `(name = ${q(k)}, text = ${q(String(v))})`)
  const file = join(dir, `workerd-${port}.capnp`)
  await writeFile(
    file,
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "outbound", network = (allow = [${allow.map(q).join(', ')}])),
  ],
  sockets = [ (name = "http", address = ${q(`127.0.0.1:${port}`)}, http = (), service = "main") ],
);

const mainWorker :Workerd.Worker = (
  modules = [ (name = ${q(bundle!.main)}, esModule = embed ${q(bundle!.main)}) ],
  compatibilityDate = ${q(date)},
  compatibilityFlags = [${flags.map(q).join(', ')}],
  bindings = [
    ${bindings.join(',\n    ')}
  ],
  globalOutbound = "outbound",
);
`,
    { mode: 0o600 },
  )
  return file
}

describe('the bundle in workerd', () => {
  let db: TestDatabase
  let h: Awaited<ReturnType<typeof workerHarness>>
  const servers: Server[] = []

  /** Starts workerd on the bundle and waits for /healthz. */
  async function serve(allow: string[]): Promise<{ base: string; server: Server }> {
    if (!bundle) throw new Error('no bundle: the wrangler dry-run test failed')
    const port = await freePort()
    const config = await workerdConfig(bundle.dir, port, h.env, allow)
    const server = start(bin('workerd'), ['serve', config], { cwd: bundle.dir, env: { PATH: process.env.PATH } })
    servers.push(server)
    const base = `http://127.0.0.1:${port}`
    const ms = await waitForHttp(`${base}/healthz`, server, 30_000)
    console.log(`workerd serve (outbound allow ${allow.join(',')}): answering /healthz after ${(ms / 1000).toFixed(2)} s (database: ${db.kind})`)
    return { base, server }
  }

  beforeAll(async () => {
    db = await startTestDatabase()
    const dataDir = join(tmp, 'data')
    await mkdir(dataDir, { recursive: true })
    h = await workerHarness(db, dataDir)
  }, 60_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await h?.db.end()
    await db?.close()
  })

  it('answers a signed auth.bind and org.tree from the local Neon endpoint', { timeout: 60_000 }, async () => {
    const { base, server } = await serve(['local'])
    const password = h.admin.mqtt_connection.mqtt_password
    const bind = await readAnswer(await sendTo(base, await h.request('auth.bind', 'admin.workerd', 'seq-1', { mqtt_password: password })))
    expect(bind, server.output()).toMatchObject({ status: 200, reply: { code: 0, data: { employee_id: 'admin' } } })
    const { rows } = await h.db.query('SELECT employee_id FROM client_session WHERE client_id = $1', ['admin.workerd'])
    expect(rows).toEqual([{ employee_id: 'admin' }])

    const tree = await readAnswer(await sendTo(base, await h.request('org.tree', 'admin.workerd', 'seq-2', {})))
    expect(tree, server.output()).toMatchObject({ status: 200, reply: { code: 0 } })
    expect(tree.reply.data.employees).toEqual(expect.arrayContaining([expect.objectContaining({ employee_id: 'admin' })]))

    // And the relay signature is enforced there too.
    const unsigned = await sendTo(base, await h.request('org.tree', 'admin.workerd', 'seq-3', {}), { headers: { authorization: null } })
    expect((await readAnswer(unsigned)).reply).toMatchObject({ code: 401, message: 'relay token missing' })
    const req = await h.request('auth.bind', 'admin.workerd', 'seq-4', { mqtt_password: password })
    const tampered = await sendTo(base, req, { body: JSON.stringify({ action: 'auth.bind', mqtt_password: password, device_info: 'x' }) })
    expect((await readAnswer(tampered)).reply).toMatchObject({ code: 401, message: 'body does not match the relay token' })
  })

  it('cannot reach 127.0.0.1 with a public-only outbound (why the config allows "local")', { timeout: 60_000 }, async () => {
    const { base, server } = await serve(['public'])
    const res = await sendTo(base, await h.request('auth.bind', 'admin.public', 'seq-1', { mqtt_password: h.admin.mqtt_connection.mqtt_password }))
    expect(await readAnswer(res)).toMatchObject({ status: 503, reply: { code: 503, message: 'database unavailable' } })
    expect(server.output()).toContain('blocked by restrictPeers')
  })
})
