import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readRouteFile } from '../relay/route-source.ts'
import { routesCommand } from './routes.ts'

const dirs: string[] = []
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function file(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mchat-cli-routes-'))
  dirs.push(d)
  const path = join(d, 'routes.json')
  await writeFile(
    path,
    JSON.stringify({
      default: { url: 'https://stable.example' },
      actions: {
        'msg.send_group': { canary: { target: { worker: 'mchat', version: 'v2' }, weight: 10 }, timeout_ms: 20000 },
      },
    }),
  )
  return path
}

describe('mchat routes', () => {
  it('shows the table, sets a weight, rolls back and promotes, each written whole', async () => {
    const path = await file()
    const out: string[] = []
    const run = (...args: string[]) => routesCommand(path, args, (s) => out.push(s))
    await run()
    expect(out.pop()).toBe(
      'default → https://stable.example\nmsg.send_group → https://stable.example, canary mchat@v2 at 10 % (falls back to stable) (timeout 20000 ms)',
    )
    await run('set', 'msg.send_group', '35')
    expect((await readRouteFile(path)).actions['msg.send_group']?.canary?.weight).toBe(35)
    await run('rollback', 'msg.send_group')
    expect((await readRouteFile(path)).actions['msg.send_group']?.canary?.weight).toBe(0)
    await run('promote', 'msg.send_group')
    const promoted = await readRouteFile(path)
    expect(promoted.actions['msg.send_group']).toEqual({
      stable: { worker: 'mchat', version: 'v2' },
      timeout_ms: 20000,
    })
    expect(out.pop()).toBe('default → https://stable.example\nmsg.send_group → mchat@v2 (timeout 20000 ms)')
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(promoted)
  })

  it('refuses what it cannot do, and leaves the file as it was', async () => {
    const path = await file()
    const before = await readFile(path, 'utf8')
    const run = (...args: string[]) => routesCommand(path, args, () => {})
    await expect(run('set', 'msg.send_group', '150')).rejects.toThrow(/0–100/)
    await expect(run('set', 'org.tree', '5')).rejects.toThrow(/org.tree has no canary/)
    await expect(run('promote')).rejects.toThrow(/needs an action/)
    await expect(run('explode', 'msg.send_group')).rejects.toThrow(/unknown command explode/)
    await expect(routesCommand(undefined, [], () => {})).rejects.toThrow(/--file/)
    expect(await readFile(path, 'utf8')).toBe(before)
  })
})
