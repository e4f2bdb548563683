import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startSystem, type System } from '../../local/start.ts'
import type { MqttConnection } from '../../schema/index.ts'
import { connect, type HistoryMessage, type MChatClient, type Presence } from '../../sdk/index.ts'
import { chromiumBin, realServicesMissing } from '../support/services.ts'
import type { Harness } from './page.ts'

/**
 * The same SDK (connect, MChatClient, IndexedDbHistory) bundled for the browser and run in
 * headless Chromium over MQTT-over-WebSocket against the embedded broker, talking to an
 * employee whose client runs in Node over MQTT/TCP.
 */

const DB_NAME = 'mchat-browser-test'
// Without the background-networking flags Chromium keeps dialing out (and a closed network refuses it).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>MChat SDK in the browser</title></head>
<body><h1>MChat SDK</h1><ol id="log"></ol><script type="module" src="/page.js"></script></body></html>
`

let dir: string
let system: System | undefined
let server: http.Server | undefined
let context: BrowserContext | undefined
let page: Page
let pageUrl: string
const nodeClients: MChatClient[] = []
let admin: MChatClient
let bob: MChatClient // the Node-side employee
let aliceConn: MqttConnection // the browser-side employee
const bobGot: HistoryMessage[] = []
const pageProblems: string[] = []

/** Runs `fn` against the page's harness. */
function inPage<R, A>(fn: (h: Harness, arg: A) => R | Promise<R>, arg: A): Promise<R> {
  return page.evaluate(
    // The function crosses as source text: `fn` arrives as a string and is revived in the page.
    async ([src, a]) => (0, eval)(`(${src})`)((globalThis as unknown as { mchat: Harness }).mchat, a) as R,
    [fn.toString(), arg] as const,
  )
}

/** Bundles test/browser/page.ts (and with it the SDK, the schema, zod and MQTT.js) for the browser. */
async function bundle(outdir: string): Promise<string[]> {
  const result = await build({
    entryPoints: { page: fileURLToPath(new URL('./page.ts', import.meta.url)) },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  })
  return Object.keys(result.metafile.inputs)
}

async function serve(root: string): Promise<string> {
  const types: Record<string, string> = {
    '/': 'text/html; charset=utf-8',
    '/page.js': 'text/javascript; charset=utf-8',
  }
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const type = types[path]
    if (!type) return void res.writeHead(404).end()
    readFile(join(root, path === '/' ? 'index.html' : path.slice(1))).then(
      (body) => res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500).end(),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject)
    server!.listen(0, '127.0.0.1', resolve)
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

describe.skipIf(realServicesMissing('chromium'))('the SDK in headless Chromium over MQTT-over-WebSocket', () => {
  let bundledInputs: string[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mchat-browser-'))
    system = await startSystem({
      dataDir: join(dir, 'data'),
      host: '127.0.0.1',
      publicHost: '127.0.0.1',
      mqttPort: 0,
      wsPort: 0,
      httpPort: 0,
      info: () => {},
    })

    // Node side: the admin creates both employees through MQTT, then the Node employee connects.
    admin = await connect(system.admin.mqtt_connection, { deviceId: 'node' })
    nodeClients.push(admin)
    aliceConn = (await admin.request('employee.create', { employee_id: 'web_alice', name: 'Alice (browser)' }))
      .mqtt_connection
    const bobConn = (await admin.request('employee.create', { employee_id: 'web_bob', name: 'Bob (Node)' }))
      .mqtt_connection
    bob = await connect(bobConn, { deviceId: 'node' })
    nodeClients.push(bob)
    bob.on('message', (m) => bobGot.push(m))

    const web = join(dir, 'web')
    await mkdir(web)
    bundledInputs = await bundle(web)
    await writeFile(join(web, 'index.html'), INDEX_HTML)
    pageUrl = await serve(web)

    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: chromiumBin,
      headless: true,
      args: CHROMIUM_ARGS,
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`))
    page.on('console', (m) => m.type() === 'error' && pageProblems.push(`console: ${m.text()} (${m.location().url})`))
    await page.goto(pageUrl)
    await page.waitForFunction(() => 'mchat' in globalThis)
  }, 120_000)

  afterAll(async () => {
    if (page && !page.isClosed()) await inPage((h) => h.close(), null).catch(() => {})
    await context?.close().catch(() => {})
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    await Promise.all(nodeClients.map((c) => c.close().catch(() => {})))
    await system?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  }, 60_000)

  it('bundles the SDK for the browser: MQTT.js browser build, no Node built-ins', () => {
    const sdk = bundledInputs.filter((p) => p.startsWith('sdk/'))
    expect(sdk).toEqual(expect.arrayContaining(['sdk/index.ts', 'sdk/client.ts', 'sdk/history/indexeddb.ts']))
    expect(sdk).not.toContain('sdk/history/file.ts')
    expect(bundledInputs).toContain('node_modules/mqtt/dist/mqtt.esm.js')
    expect(bundledInputs.filter((p) => p.startsWith('node:') || p.startsWith('node_modules/ws/'))).toEqual([])
  })

  it('a browser employee and a Node employee chat privately; history lands in IndexedDB; presence crosses both ways', async () => {
    // The SDK's request ids come from crypto.randomUUID(), which browsers only offer in a secure
    // context: a loopback or https page. A plain-http page from any other host has none.
    expect(await page.evaluate(() => isSecureContext)).toBe(true)
    const started = await inPage((h, a) => h.start(a.conn, a.wsUrl, a.db), {
      conn: aliceConn,
      wsUrl: system!.wsUrl!,
      db: DB_NAME,
    })
    expect(system!.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/)
    expect(started).toEqual({ clientId: 'web_alice.browser', connected: true, indexedDbHistory: true })
    expect(await inPage((h) => h.transport(), null)).toBe(`WebSocket ${system!.wsUrl} (mqtt)`)

    // Browser → Node.
    const sent = await inPage((h) => h.sendPrivate('web_bob', '你好 from Chromium'), null)
    await vi.waitFor(() => expect(bobGot.map((m) => m.msg_id)).toContain(sent.msg_id))
    expect(bobGot.find((m) => m.msg_id === sent.msg_id)).toEqual({
      msg_id: sent.msg_id,
      conversation: 'private:web_alice',
      from_employee_id: 'web_alice',
      content: '你好 from Chromium',
      sent_at: sent.sent_at,
    })

    // Node → browser.
    const back = await bob.sendPrivate('web_alice', { type: 'text', body: 'hello from Node' })
    const expected: HistoryMessage = {
      msg_id: back.msg_id,
      conversation: 'private:web_bob',
      from_employee_id: 'web_bob',
      content: { type: 'text', body: 'hello from Node' },
      sent_at: back.sent_at,
    }
    // The browser also heard the copy of what it sent itself, filed under the recipient.
    const ownCopy: HistoryMessage = {
      msg_id: sent.msg_id,
      conversation: 'private:web_bob',
      from_employee_id: 'web_alice',
      content: '你好 from Chromium',
      sent_at: sent.sent_at,
    }
    await vi.waitFor(async () => expect(await inPage((h) => h.messages(), null)).toEqual([ownCopy, expected]))

    // Both messages are in the browser's history (newest first), and really in IndexedDB.
    const history = await inPage((h) => h.history('private:web_bob'), null)
    expect(history.next).toBeNull()
    expect(history.messages).toHaveLength(2)
    expect(history.messages).toEqual(
      expect.arrayContaining([
        expected,
        expect.objectContaining({ msg_id: sent.msg_id, from_employee_id: 'web_alice', content: '你好 from Chromium' }),
      ]),
    )
    const stored = await page.evaluate(async (name) => {
      const dbs = (await indexedDB.databases()).map((d) => d.name)
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name)
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
      const rows = await new Promise<Array<{ msg_id: string }>>((resolve, reject) => {
        const req = db.transaction('messages').objectStore('messages').getAll()
        req.onsuccess = () => resolve(req.result as Array<{ msg_id: string }>)
        req.onerror = () => reject(req.error)
      })
      db.close()
      return { dbs, ids: rows.map((r) => r.msg_id).sort() }
    }, DB_NAME)
    expect(stored.dbs).toContain(DB_NAME)
    expect(stored.ids).toEqual([sent.msg_id, back.msg_id].sort())

    // Presence: the Node employee is online as seen from the browser, and the other way round.
    const bobSeen = await inPage((h) => h.presence('web_bob'), null)
    expect(bobSeen).toMatchObject({
      employee_id: 'web_bob',
      status: 'online',
      device: 'node',
      client_id: 'web_bob.node',
    } satisfies Partial<Presence>)
    expect(await bob.presence('web_alice', 2000)).toMatchObject({
      employee_id: 'web_alice',
      status: 'online',
      device: 'browser',
      client_id: 'web_alice.browser',
    })

    await page.screenshot({ path: join(dir, 'page.png') })
    expect(await page.locator('#log li').allTextContents()).toEqual([
      `connected as web_alice.browser over ${system!.wsUrl}`,
      '→ web_bob: 你好 from Chromium',
      '← web_bob: {"type":"text","body":"hello from Node"}',
    ])
    expect(await inPage((h) => h.errors(), null)).toEqual([])
    expect(pageProblems).toEqual([])
  })

  it('closing the browser client publishes offline, which the Node side hears', async () => {
    const seen: Presence[] = []
    expect(await bob.presence('web_alice', 2000)).toMatchObject({ status: 'online', device: 'browser' }) // watched from here on
    bob.on('presence', (p) => p.employee_id === 'web_alice' && seen.push(p))
    await inPage((h) => h.close(), null)
    await vi.waitFor(() => expect(seen.map((p) => p.status)).toContain('offline'))
    expect(pageProblems).toEqual([])
  })
})
