import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { freePort } from '../../local/ports.ts'
import { startAgentServer } from '../support/agent-server.ts'
import { startTestDatabase, type TestDatabase } from '../support/db.ts'
import { readAnswer, workerHarness } from '../support/workers.ts'
import { bin, sendTo, start, waitForHttp, type Server } from './process.ts'
import { buildWorkerBundle, workerdConfig } from './workerd.ts'

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
    const b = await buildWorkerBundle(join(tmp, 'bundle'), join(tmp, 'wrangler-logs'))
    console.log(`wrangler deploy --dry-run: ${(b.ms / 1000).toFixed(2)} s`)
    expect(b.files.length, `no JS emitted in ${b.dir}`).toBeGreaterThan(0)
    console.log(
      `worker bundle: ${(b.rawBytes / KiB).toFixed(1)} KiB, ${(b.gzipBytes / KiB).toFixed(1)} KiB gzip (${b.files.join(', ')}; target 150 KiB gzip)`,
    )
    expect(b.gzipBytes).toBeLessThan(MAX_GZIP)
    // wrangler names the main module after wrangler.toml's `main` (workers/entry/cloudflare.ts).
    expect(b.files).toContain(b.main)
    bundle = { dir: b.dir, main: b.main }
  })
})

describe('the bundle in workerd', () => {
  let db: TestDatabase
  let h: Awaited<ReturnType<typeof workerHarness>>
  const servers: Server[] = []

  /** Starts workerd on the bundle and waits for /healthz. */
  async function serve(allow: string[]): Promise<{ base: string; server: Server }> {
    if (!bundle) throw new Error('no bundle: the wrangler dry-run test failed')
    const port = await freePort()
    const config = await workerdConfig(bundle, port, h.env, allow)
    const server = start(bin('workerd'), ['serve', config], { cwd: bundle.dir, env: { PATH: process.env.PATH } })
    servers.push(server)
    const base = `http://127.0.0.1:${port}`
    const ms = await waitForHttp(`${base}/healthz`, server, 30_000)
    console.log(
      `workerd serve (outbound allow ${allow.join(',')}): answering /healthz after ${(ms / 1000).toFixed(2)} s (database: ${db.kind})`,
    )
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
    const bind = await readAnswer(
      await sendTo(base, await h.request('auth.bind', 'admin.workerd', 'seq-1', { mqtt_password: password })),
    )
    expect(bind, server.output()).toMatchObject({ status: 200, reply: { code: 0, data: { employee_id: 'admin' } } })
    const { rows } = await h.db.query('SELECT employee_id FROM client_session WHERE client_id = $1', ['admin.workerd'])
    expect(rows).toEqual([{ employee_id: 'admin' }])

    const tree = await readAnswer(await sendTo(base, await h.request('org.tree', 'admin.workerd', 'seq-2', {})))
    expect(tree, server.output()).toMatchObject({ status: 200, reply: { code: 0 } })
    expect(tree.reply.data.employees).toEqual(
      expect.arrayContaining([expect.objectContaining({ employee_id: 'admin' })]),
    )

    // And the relay signature is enforced there too.
    const unsigned = await sendTo(base, await h.request('org.tree', 'admin.workerd', 'seq-3', {}), {
      headers: { authorization: null },
    })
    expect((await readAnswer(unsigned)).reply).toMatchObject({ code: 401, message: 'relay token missing' })
    const req = await h.request('auth.bind', 'admin.workerd', 'seq-4', { mqtt_password: password })
    const tampered = await sendTo(base, req, {
      body: JSON.stringify({ action: 'auth.bind', mqtt_password: password, device_info: 'x' }),
    })
    expect((await readAnswer(tampered)).reply).toMatchObject({
      code: 401,
      message: 'body does not match the relay token',
    })
  })

  it(
    'calls an AI agent from workerd: the message streams out first, then the signed call’s answer',
    { timeout: 60_000 },
    async () => {
      const secrets: Record<string, string> = {}
      let open!: () => void
      const gate = new Promise<void>((r) => (open = r))
      const agent = await startAgentServer(
        async () => {
          await gate
          return { content: '订单已发货' }
        },
        (id) => secrets[id],
      )
      h.env.AGENT_WEBHOOK_ALLOW_HOSTS = '127.0.0.1'
      try {
        const { base, server } = await serve(['local'])
        const call = async (action: string, seq: string, payload: Record<string, unknown>) =>
          readAnswer(await sendTo(base, await h.request(action, 'admin.agents', seq, payload)))
        expect(
          (await call('auth.bind', 'ag-1', { mqtt_password: h.admin.mqtt_connection.mqtt_password })).reply.code,
        ).toBe(0)
        const created = await call('employee.create', 'ag-2', {
          employee_id: 'ai_workerd',
          name: 'W',
          is_ai_agent: true,
          agent_profile: { webhook_endpoint: agent.endpoint('ai_workerd') },
        })
        expect(created.reply.code, server.output()).toBe(0)
        secrets.ai_workerd = created.reply.data.webhook_secret
        const res = await sendTo(
          base,
          await h.request('msg.send_private', 'admin.agents', 'ag-3', {
            to_employee_id: 'ai_workerd',
            content: '查订单',
          }),
        )
        const reader = res.body!.getReader()
        const decoder = new TextDecoder()
        let text = decoder.decode((await reader.read()).value, { stream: true })
        // Only the human's message (and its sender's copy) so far: the agent has not been let answer.
        const early = text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
        expect(early.length).toBeGreaterThan(0)
        expect(early.every((l) => l.kind === 'delivery' && l.payload.from_employee_id === 'admin')).toBe(true)
        open()
        for (let r = await reader.read(); !r.done; r = await reader.read())
          text += decoder.decode(r.value, { stream: true })
        const lines = text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
        expect(lines.map((l) => [l.topic, l.payload?.from_employee_id ?? l.kind])).toEqual([
          ['mchat/inbox/ai_workerd', 'admin'],
          ['mchat/inbox/admin', 'admin'],
          ['mchat/inbox/admin', 'ai_workerd'],
          [undefined, 'reply'],
        ])
        expect(lines[3]).toMatchObject({
          code: 0,
          data: { agents: [{ agent_id: 'ai_workerd', status: 'answered', msg_id: lines[2].payload.msg_id }] },
        })
        expect(agent.calls.map((c) => c.verified)).toEqual([true])
      } finally {
        delete h.env.AGENT_WEBHOOK_ALLOW_HOSTS
        await agent.close()
      }
    },
  )

  it(
    'cannot reach 127.0.0.1 with a public-only outbound (why the config allows "local")',
    { timeout: 60_000 },
    async () => {
      const { base, server } = await serve(['public'])
      const res = await sendTo(
        base,
        await h.request('auth.bind', 'admin.public', 'seq-1', { mqtt_password: h.admin.mqtt_connection.mqtt_password }),
      )
      expect(await readAnswer(res)).toMatchObject({
        status: 503,
        reply: { code: 503, message: 'database unavailable' },
      })
      expect(server.output()).toContain('blocked by restrictPeers')
    },
  )
})
