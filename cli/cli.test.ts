import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, type MChatClient } from '../sdk/index.ts'
import { startTestSystem, type TestSystem } from '../test/support/system.ts'

const BIN = fileURLToPath(new URL('../bin/mchat.mjs', import.meta.url))
let sys: TestSystem
let admin: MChatClient
let aliceFile: string

function mchat(args: string[], input?: string) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, MCHAT_DATA_DIR: sys.dataDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  if (input !== undefined) child.stdin.end(input)
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return { child, exited, out: () => out, err: () => err }
}

beforeAll(async () => {
  sys = await startTestSystem()
  admin = await connect(sys.admin.mqtt_connection, { deviceId: 'clitest' })
  const alice = await admin.request('employee.create', { employee_id: 'cli_alice', name: 'Alice' })
  aliceFile = join(sys.dataDir, 'alice.json')
  await writeFile(aliceFile, JSON.stringify(alice))
}, 90_000)

afterAll(async () => {
  await admin?.close()
  await sys?.close()
})

describe('mchat', () => {
  it('admin prints the local admin’s mqtt_connection', async () => {
    const r = mchat(['admin'])
    expect(await r.exited).toBe(0)
    expect(JSON.parse(r.out())).toEqual(sys.admin.mqtt_connection)
  })

  it('call prints the reply’s data; a refusal is one line with its code and exit 1; bad usage exit 2', async () => {
    const ok = mchat(['call', 'org.tree'])
    expect(await ok.exited).toBe(0)
    expect(JSON.parse(ok.out()).employees.map((e: { employee_id: string }) => e.employee_id)).toEqual(
      expect.arrayContaining(['admin', 'cli_alice']),
    )

    const denied = mchat(['call', 'employee.create', '{"name":"x"}', '--as', aliceFile])
    expect(await denied.exited).toBe(1)
    expect(denied.err().trim()).toBe('error 403: only org admins can create employees')

    const bad = mchat(['call', 'no.such'])
    expect(await bad.exited).toBe(2)
    expect(bad.err()).toMatch(/^unknown action no\.such/)
    const badJson = mchat(['call', 'org.tree', '{nope'])
    expect(await badJson.exited).toBe(2)
  })

  it('admin --create makes another org admin', async () => {
    const r = mchat(['admin', '--create', 'cli_admin2', '--name', 'Second'])
    expect(await r.exited).toBe(0)
    expect(JSON.parse(r.out())).toMatchObject({
      employee_id: 'cli_admin2',
      mqtt_connection: { mqtt_username: 'cli_admin2' },
    })
  })

  it('listen prints incoming messages; chat sends typed lines and shows the answers', async () => {
    const listener = mchat(['listen', '--as', aliceFile, '--device', 'listen'])
    try {
      await vi.waitFor(() => expect(listener.err()).toMatch(/listening as cli_alice\.listen/), { timeout: 20_000 })
      await admin.sendPrivate('cli_alice', 'hello from admin')
      await vi.waitFor(() => expect(listener.out()).toMatch(/private:admin admin: hello from admin/), {
        timeout: 10_000,
      })
    } finally {
      listener.child.kill('SIGINT')
    }
    expect(await listener.exited).toBe(0)

    const got: string[] = []
    admin.on('message', (m) => got.push(String(m.content)))
    const chat = mchat(['chat', 'admin', '--as', aliceFile, '--device', 'chat'])
    await vi.waitFor(() => expect(chat.err()).toMatch(/chatting with admin/), { timeout: 20_000 })
    chat.child.stdin.write('first line\n')
    await vi.waitFor(() => expect(got).toContain('first line'))
    await admin.sendPrivate('cli_alice', 'an answer')
    await vi.waitFor(() => expect(chat.out()).toMatch(/^admin: an answer$/m))
    chat.child.stdin.end('second line\n')
    expect(await chat.exited).toBe(0)
    expect(chat.out().match(/^sent msg_/gm)).toHaveLength(2)
    await vi.waitFor(() => expect(got).toContain('second line'))

    // A group: typed lines go to the group's topic.
    const g = await admin.request('group.create', { name: 'cli group', member_ids: ['cli_alice'] })
    await vi.waitFor(() => expect(admin.groups.has(g.group_id)).toBe(true))
    const inGroup: string[] = []
    admin.on('message', (m) => m.conversation === `group:${g.group_id}` && inGroup.push(String(m.content)))
    const groupChat = mchat(['chat', g.group_id, '--as', aliceFile, '--device', 'chatg'], 'hello group\n')
    expect(await groupChat.exited).toBe(0)
    await vi.waitFor(() => expect(inGroup).toEqual(['hello group']))

    const nobody = mchat(['chat', 'cli_nobody', '--as', aliceFile, '--device', 'chat2'], '')
    expect(await nobody.exited).toBe(1)
    expect(nobody.err()).toMatch(/cli_nobody is neither an employee nor one of your groups/)
  })
})
