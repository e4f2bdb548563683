import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { MqttConnection, SystemNotice } from '../../schema/index.ts'
import { connect, MChatError, type MChatClient } from '../../sdk/index.ts'
import { chromiumBin, realServicesMissing } from '../support/services.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * The admin console (web/) built by local/web.ts exactly as `npm start` serves it, driven in
 * headless Chromium against the real local system: the embedded broker (whose MQTT-over-WebSocket
 * listener the browser needs, and which checks credentials through the workers' hooks), the
 * workers and relay, and the machine's PostgreSQL and Redis when it has them (always in CI;
 * PGlite and the in-process limiter otherwise). Every screen is screenshotted (into
 * docs/screenshots/ with MCHAT_SCREENSHOTS=docs).
 */

const SEEDED = 1000
// docs/screenshots/ is refreshed with MCHAT_SCREENSHOTS=docs; otherwise a run leaves the tree clean.
const SHOTS =
  process.env.MCHAT_SCREENSHOTS === 'docs'
    ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), 'mchat-admin-web-screenshots')
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

let dir: string
let system: TestSystem | undefined
let context: BrowserContext | undefined
let page: Page
let admin: MChatClient
let alice: MChatClient | undefined
let aliceConn: MqttConnection
const aliceNotices: SystemNotice[] = []
const pageProblems: string[] = []

const pad = (i: number) => String(i).padStart(4, '0')
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) })
const visible = (l: Locator) => l.waitFor({ state: 'visible', timeout: 20_000 })
const nav = (name: string) => page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name })
const status = (text: string | RegExp) => page.getByRole('status').filter({ hasText: text })
const alert = () => page.getByRole('alert')

/** The server's refusal of `fn`, as the SDK reports it. */
async function refusal(fn: () => Promise<unknown>): Promise<MChatError> {
  const err = await fn().then(
    () => null,
    (e: unknown) => e,
  )
  if (!(err instanceof MChatError)) throw new Error(`expected a refusal, got ${String(err)}`)
  return err
}

/** 1,000 employees in ten departments, created through employee.create like any import would. */
async function seed(client: MChatClient): Promise<void> {
  for (let d = 0; d < 10; d++)
    await client.request('department.create', {
      department_id: `bulk_dept_${d}`,
      name: `Division ${d}`,
      sort_order: 10 + d,
    })
  for (let start = 1; start <= SEEDED; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, SEEDED - start + 1) }, (_, k) => {
        const i = start + k
        return client.request('employee.create', {
          employee_id: `bulk_${pad(i)}`,
          name: `Bulk ${pad(i)}`,
          department_id: `bulk_dept_${i % 10}`,
        })
      }),
    )
  }
}

describe.skipIf(realServicesMissing('chromium'))(
  'the admin web console in headless Chromium against the real local system',
  { timeout: 90_000 },
  () => {
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mchat-admin-web-'))
      await mkdir(SHOTS, { recursive: true })
      system = await startTestSystem({
        broker: 'embedded',
        wsPort: 0,
        webPort: 0,
        log: () => {},
        bindings: {
          // Seeding a thousand employees is management traffic far above a person's budget; its own
          // prefix keeps it out of other tests' buckets on a shared Redis.
          RATE_LIMIT_MANAGEMENT: '100000/10s',
          RATE_LIMIT_PREFIX: `mchat-web-test-${Date.now().toString(36)}`,
          RATE_LIMIT_TIMEOUT_MS: '2000',
          // As under npm start: a webhook on this machine is allowed (development only).
          AGENT_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        },
      })
      admin = await connect(system.admin.mqtt_connection, { deviceId: 'seed' })
      await seed(admin)

      context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
        executablePath: chromiumBin,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1360, height: 900 },
        acceptDownloads: true,
      })
      page = context.pages()[0] ?? (await context.newPage())
      page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`))
      page.on('console', (m) => m.type() === 'error' && pageProblems.push(`console: ${m.text()}`))
    }, 300_000)

    afterAll(async () => {
      await context?.close().catch(() => {})
      await alice?.close().catch(() => {})
      await admin?.close().catch(() => {})
      await system?.close()
      if (dir) await rm(dir, { recursive: true, force: true })
    }, 60_000)

    it('serves the built console with a runtime config naming the broker, and falls back to index.html', async () => {
      const web = system!.webUrl!
      expect(web).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      expect(await (await fetch(`${web}config.json`)).json()).toEqual({ brokerUrl: system!.wsUrl })
      const deep = await fetch(`${web}some/client/route`)
      expect(deep.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await deep.text()).toContain('<div id="root">')
      expect((await fetch(`${web}assets/missing.js`)).status).toBe(404)
    })

    it('signs in with the admin mqtt_connection, shows the broker refusal for a wrong password, and remembers nothing unless asked', async () => {
      await page.goto(system!.webUrl!)
      await visible(page.getByRole('heading', { name: 'Sign in' }))
      expect(await page.getByLabel('Broker WebSocket URL').inputValue()).toBe(system!.wsUrl)
      const conn = system!.admin.mqtt_connection
      await page.getByLabel('Employee ID (MQTT username)').fill(conn.mqtt_username)
      await page.getByLabel('MQTT password').fill('not-the-password')
      await shot('sign-in')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await visible(alert())
      expect(await alert().textContent()).toMatch(/not authorized|bad user ?name or password/i)

      await page.getByLabel('MQTT password').fill(conn.mqtt_password)
      expect(await page.getByLabel(/Remember me/).isChecked()).toBe(false)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await visible(nav('Org chart'))
      await visible(status('Signed in as admin'))
      expect(await page.evaluate(() => localStorage.length)).toBe(0)
    })

    it('renders the org chart of 1,000 employees virtualised, scrolls it by mouse and keyboard', async () => {
      await visible(page.getByText(`${(SEEDED + 1).toLocaleString('en-US')} people`))
      const tree = page.getByRole('tree', { name: 'Organisation' })
      // Ten departments plus a thousand people, but only the rows in view are in the DOM.
      const rendered = await tree.getByRole('treeitem').count()
      expect(rendered).toBeGreaterThan(5)
      expect(rendered).toBeLessThan(60)
      await visible(tree.getByRole('treeitem', { name: /Division 0/ }))

      const firstBefore = await tree.getByRole('treeitem').first().textContent()
      await tree.hover()
      await page.mouse.wheel(0, 20_000)
      await vi.waitFor(async () => expect(await tree.getByRole('treeitem').first().textContent()).not.toBe(firstBefore))

      await tree.focus()
      await page.keyboard.press('End')
      const last = tree.locator(`#${await tree.getAttribute('aria-activedescendant')}`)
      await visible(last)
      expect(await last.getAttribute('aria-level')).toBe('2')
      await page.keyboard.press('Home')
      await page.keyboard.press('Enter') // collapses the first department
      await visible(tree.getByRole('treeitem', { name: /Division 0/, expanded: false }))
      await page.keyboard.press('ArrowRight')
      await visible(tree.getByRole('treeitem', { name: /Division 0/, expanded: true }))

      await page.getByLabel('Filter people').fill('Bulk 0999')
      await visible(tree.getByRole('treeitem', { name: /Bulk 0999/ }))
      expect(await tree.getByRole('treeitem').count()).toBe(2) // its department and the person
      await page.getByLabel('Filter people').fill('')
    })

    it('creates a department, shows a refusal as the server words it, renames, moves and deletes one through the challenge', async () => {
      await nav('Departments').click()
      await page.getByLabel('Department name').fill('Research 研究部')
      await page.getByLabel('Department ID').fill('research')
      await page.getByRole('button', { name: 'Create department' }).click()
      await visible(status('Created Research 研究部 (research)'))
      await visible(page.getByRole('row', { name: /Research 研究部/ }))

      // The same id again: the console shows exactly what the server answers.
      const expected = await refusal(() =>
        admin.request('department.create', { department_id: 'research', name: 'Again' }),
      )
      await page.getByLabel('Department name').fill('Again')
      await page.getByLabel('Department ID').fill('research')
      await page.getByRole('button', { name: 'Create department' }).click()
      await visible(alert())
      expect(await alert().locator('.code').textContent()).toBe(`Error ${expected.code}`)
      expect(await alert().locator('.message').textContent()).toBe(expected.message)

      await page.getByLabel('Department name').fill('Temp')
      await page.getByLabel('Department ID').fill('temp')
      await page.getByRole('button', { name: 'Create department' }).click()
      await visible(status('Created Temp (temp)'))
      await page.getByRole('button', { name: 'Rename or move Temp' }).click()
      await page.getByLabel('New name').fill('Temporary')
      await page.getByLabel('Move under').selectOption({ label: 'Research 研究部' })
      await page.getByRole('button', { name: 'Save department' }).click()
      await visible(page.getByRole('row', { name: /Temporary/ }))
      await shot('departments')

      await page.getByRole('button', { name: 'Delete Temporary' }).click()
      const dialog = page.getByRole('dialog', { name: 'Delete department “Temporary”' })
      await visible(dialog.getByText(/Challenge .* issued for department\.delete/))
      await dialog.getByLabel(/Type .* to confirm/).fill('Temporary')
      await dialog.getByRole('button', { name: 'Delete department' }).click()
      await visible(status(/Deleted Temporary/))
      await vi.waitFor(async () => expect(await page.getByRole('row', { name: /Temporary/ }).count()).toBe(0))
    })

    it('creates an employee and an AI agent, shows each one its credentials once with a copy button, and edits one', async () => {
      await nav('Employees & agents').click()
      const form = page.getByRole('form', { name: 'New employee' })
      await form.getByLabel('Name (required)').fill('Alice Zhang')
      await form.getByLabel('Employee ID', { exact: true }).fill('alice')
      await form.getByLabel('Department', { exact: true }).selectOption({ label: 'Research 研究部' })
      await form.getByLabel('Skills badges').fill('design, ux')
      await form.getByRole('button', { name: 'Create employee' }).click()
      const secret = page.getByRole('region', { name: /Employee Alice Zhang \(alice\) created/ })
      await visible(secret)
      aliceConn = JSON.parse((await secret.getByLabel('mqtt_connection').textContent())!)
      expect(aliceConn).toMatchObject({
        mqtt_username: 'alice',
        broker_port: Number(new URL(system!.mqttUrl).port),
        client_id_scheme: '{employee_id}.{device_id}',
      })
      await secret.getByRole('button', { name: 'Copy mqtt_connection' }).click()
      await visible(secret.getByRole('status').filter({ hasText: 'Copied' }))
      await shot('employee-created')
      await secret.getByRole('button', { name: /Done/ }).click()
      await visible(page.getByRole('form', { name: 'Edit Alice Zhang' }))
      expect(await page.getByText(aliceConn.mqtt_password).count()).toBe(0) // shown once, gone now

      await page.getByRole('button', { name: 'New AI agent' }).click()
      const agentForm = page.getByRole('form', { name: 'New AI agent' })
      await agentForm.getByLabel('Name (required)').fill('Translator Bot')
      await agentForm.getByLabel('Employee ID', { exact: true }).fill('agent_translate')
      await agentForm.getByLabel('Department', { exact: true }).selectOption({ label: 'Research 研究部' })
      await agentForm.getByLabel('Skills badges').fill('translation')
      await agentForm.getByLabel(/^Capabilities/).fill('translate, summarize')
      await agentForm.getByLabel(/^Model type/).fill('gpt-4o-mini')
      await agentForm.getByLabel(/^Webhook endpoint/).fill('http://127.0.0.1:9/mchat-hook')
      await shot('agent-form')
      await agentForm.getByRole('button', { name: 'Create AI agent' }).click()
      const agentSecret = page.getByRole('region', { name: /AI agent Translator Bot \(agent_translate\) created/ })
      await visible(agentSecret)
      expect(JSON.parse((await agentSecret.getByLabel('mqtt_connection').textContent())!)).toMatchObject({
        mqtt_username: 'agent_translate',
      })
      // A webhook agent's signing secret is in this reply only: shown once, with its copy button.
      expect(await agentSecret.getByLabel('webhook secret').textContent()).toMatch(/\S{16,}/)
      await agentSecret.getByRole('button', { name: 'Copy webhook secret' }).click()
      await visible(agentSecret.getByRole('status').filter({ hasText: 'Copied' }))
      await shot('agent-created')
      await agentSecret.getByRole('button', { name: /Done/ }).click()

      // The credentials the console showed are real: Alice connects with them and comes online.
      alice = await connect(aliceConn, { deviceId: 'node' })
      alice.on('notice', (n) => aliceNotices.push(n))

      await page.getByLabel('Find an employee or agent').fill('Bulk 0002')
      await page.getByRole('option', { name: /Bulk 0002/ }).click()
      const edit = page.getByRole('form', { name: 'Edit Bulk 0002' })
      await edit.getByLabel('Skills badges').fill('support, zh')
      await edit.getByRole('button', { name: 'Save changes' }).click()
      await visible(status('Saved skills_badge'))
      await shot('employees')

      // A sensitive change (status) goes through the challenge step.
      await page.getByLabel('Find an employee or agent').fill('Bulk 0003')
      await page.getByRole('option', { name: /Bulk 0003/ }).click()
      const disable = page.getByRole('form', { name: 'Edit Bulk 0003' })
      await disable.getByLabel('Status').selectOption('disabled')
      await disable.getByRole('button', { name: 'Save changes' }).click()
      const dialog = page.getByRole('dialog', { name: 'Change status of Bulk 0003' })
      await visible(dialog.getByText(/Challenge .* issued for employee\.update/))
      await dialog.getByLabel(/Type .* to confirm/).fill('bulk_0003')
      await dialog.getByRole('button', { name: 'Apply changes' }).click()
      await visible(status('Saved status'))
      await visible(page.getByRole('option', { name: /Bulk 0003/ }).getByText('disabled'))

      // The agent's profile fields come from the contract; a patch changes only what is filled in.
      await page.getByLabel('Find an employee or agent').fill('agent_translate')
      await page.getByRole('option', { name: /Translator Bot/ }).click()
      const agentEdit = page.getByRole('form', { name: 'Edit Translator Bot' })
      await agentEdit.getByLabel(/^Trigger keywords/).fill('translate, 翻译')
      await agentEdit.getByRole('button', { name: 'Save changes' }).click()
      await visible(status('Saved agent_profile'))
    })

    it('shows agents with their badges and capabilities, and presence live, on the org chart', async () => {
      await nav('Org chart').click()
      await page.getByLabel('Filter people').fill('a')
      const tree = page.getByRole('tree', { name: 'Organisation' })
      const aliceRow = tree.getByRole('treeitem', { name: /Alice Zhang/ })
      await visible(aliceRow)
      await visible(aliceRow.getByRole('img', { name: 'online' }))
      const agentRow = tree.getByRole('treeitem', { name: /Translator Bot/ })
      await visible(agentRow.getByText('AI agent'))
      expect(
        await agentRow.getByRole('list', { name: 'Capabilities' }).getByRole('listitem').allTextContents(),
      ).toEqual(['translate', 'summarize'])
      expect(
        await agentRow.getByRole('list', { name: 'Skills badges' }).getByRole('listitem').allTextContents(),
      ).toEqual(['translation'])
      await agentRow.click()
      await visible(page.getByRole('complementary', { name: 'About Translator Bot' }))
      await page.getByLabel('Filter people').fill('')
      await page.getByRole('button', { name: 'Collapse all' }).click()
      await tree.getByRole('treeitem', { name: /Research 研究部/ }).click()
      await aliceRow.click()
      await shot('org-chart')

      // Alice leaves: the broker's retained status flips her dot without a reload.
      await alice!.close()
      alice = undefined
      await visible(aliceRow.getByRole('img', { name: 'offline' }))
      alice = await connect(aliceConn, { deviceId: 'node' })
      alice.on('notice', (n) => aliceNotices.push(n))
      await visible(aliceRow.getByRole('img', { name: 'online' }))
    })

    it('filters the agent capability market by skill', async () => {
      await nav('Agent market').click()
      await visible(page.getByRole('listitem').filter({ hasText: 'Translator Bot' }))
      await page.getByLabel('Skill', { exact: true }).fill('translate')
      await page.getByRole('button', { name: 'Filter', exact: true }).click()
      await visible(page.getByText('1 agent with the skill “translate”'))
      await shot('agent-market')
      await page.getByLabel('Skill', { exact: true }).fill('no-such-skill')
      await page.getByRole('button', { name: 'Filter', exact: true }).click()
      await visible(page.getByText('No active agent offers that skill.'))
    })

    it('creates a group with the member picker, then dismisses it through the challenge step', async () => {
      await nav('Groups').click()
      const form = page.getByRole('form', { name: 'New group' })
      await form.getByLabel('Group name').fill('Launch team')
      await form.getByLabel('Find people').fill('alice')
      await form.getByRole('option', { name: /Alice Zhang/ }).click()
      await form.getByLabel('Find people').fill('Translator')
      await form.getByRole('option', { name: /Translator Bot/ }).click()
      await visible(form.getByText('2 selected'))
      await form.getByRole('button', { name: 'Create group' }).click()
      await visible(status(/Created Launch team \(.+\) with 3 members/))
      await vi.waitFor(() => expect(aliceNotices.map((n) => n.type)).toContain('member_joined'))

      await page.getByRole('button', { name: 'Manage Launch team' }).click()
      const manager = page.getByRole('region', { name: 'Manage group Launch team' })
      await visible(manager.getByText('3 members · you are owner'))
      // The members as group.members lists them, with their roles.
      const members = manager.getByRole('list', { name: 'Members' }).getByRole('listitem')
      await vi.waitFor(async () => expect(await members.count()).toBe(3))
      const lines = await members.allTextContents()
      expect(lines.filter((l) => l.includes(' · owner'))).toHaveLength(1)
      expect(lines.filter((l) => l.includes('Translator Bot') && l.includes(' · AI'))).toHaveLength(1)
      await shot('groups')

      await manager.getByRole('button', { name: 'Dismiss group' }).click()
      const dialog = page.getByRole('dialog', { name: 'Dismiss group “Launch team”' })
      await visible(dialog.getByText(/Challenge .* issued for group\.dismiss/))
      await dialog.getByLabel(/Type .* to confirm/).fill('Launch team')
      await shot('challenge')
      await dialog.getByRole('button', { name: 'Dismiss group' }).click()
      await visible(status(/Dismissed Launch team/))
      await vi.waitFor(() => expect(aliceNotices.map((n) => n.type)).toContain('group_dismissed'))
      await vi.waitFor(async () =>
        expect(await page.getByRole('button', { name: 'Manage Launch team' }).count()).toBe(0),
      )
    })

    it('finds every step in the audit log, pages through it, and exports it as CSV', async () => {
      await nav('Audit log').click()
      await page.getByLabel('Operator (employee id)').fill('admin')
      await page.getByLabel('Page size').selectOption('50')
      await page.getByRole('button', { name: 'Search' }).click()
      const table = page.getByRole('table', { name: 'Audit entries' })
      const row = (action: string, text: string) =>
        table.getByRole('row').filter({ hasText: action }).filter({ hasText: text })
      await visible(row('department.create', 'Research 研究部'))
      await visible(row('employee.create', 'alice'))
      await visible(row('employee.create', 'agent_translate'))
      await visible(row('group.create', 'Launch team'))
      await visible(row('auth.challenge', 'group.dismiss'))
      await visible(row('group.dismiss', '"group_id"'))
      await visible(row('department.delete', '"temp"'))
      // The refused duplicate is there too, with its code.
      await visible(row('department.create', 'admin.admin-web').filter({ hasText: '409' }))
      await shot('audit-log')

      // Paging: a thousand and more employee.create entries, 500 a page.
      await page.getByLabel('Action').selectOption('employee.create')
      await page.getByLabel('Page size').selectOption('500')
      await page.getByRole('button', { name: 'Search' }).click()
      await visible(page.getByText('500 entries shown; more available'))
      await page.getByRole('button', { name: 'Load more' }).click()
      await visible(page.getByText('1,000 entries shown; more available'))
      await page.getByRole('button', { name: 'Load more' }).click()
      await visible(page.getByText(`${(SEEDED + 2).toLocaleString('en-US')} entries shown`))
      expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0)

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export CSV' }).click(),
      ])
      expect(download.suggestedFilename()).toMatch(/^mchat-audit-.*\.csv$/)
      const csv = (await readFile((await download.path())!, 'utf8')).replace(/^\ufeff/, '')
      const lines = csv.trimEnd().split('\r\n')
      expect(lines[0]).toBe('audit_id,ts,operator_employee_id,client_id,action,result_code,params')
      expect(lines).toHaveLength(SEEDED + 2 + 1)
      expect(lines.filter((l) => l.includes(',employee.create,0,') && l.includes('agent_translate'))).toHaveLength(1)

      await page.getByLabel('Action').selectOption('group.dismiss')
      await page.getByRole('button', { name: 'Search' }).click()
      await visible(page.getByText('1 entry shown'))
    })

    it('remembers the sign-in only when asked, across a reload, and forgets it on sign-out', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click()
      await visible(page.getByRole('heading', { name: 'Sign in' }))
      const conn = system!.admin.mqtt_connection
      await page.getByLabel('Employee ID (MQTT username)').fill(conn.mqtt_username)
      await page.getByLabel('MQTT password').fill(conn.mqtt_password)
      await page.getByLabel(/Remember me/).check()
      await page.getByRole('button', { name: 'Sign in' }).click()
      await visible(status('Signed in as admin'))
      expect(await page.evaluate(() => localStorage.length)).toBe(1)
      await page.reload()
      await visible(status('Signed in as admin'))
      await page.getByRole('button', { name: 'Sign out' }).click()
      await visible(page.getByRole('heading', { name: 'Sign in' }))
      expect(await page.evaluate(() => localStorage.length)).toBe(0)
    })

    it('left no page errors behind', () => {
      expect(pageProblems).toEqual([])
    })
  },
)
