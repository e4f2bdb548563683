import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestSystem, type TestSystem } from '../../test/support/system.ts'

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))
const TOUR = fileURLToPath(new URL('./tour.ts', import.meta.url))
let sys: TestSystem

beforeAll(async () => {
  sys = await startTestSystem()
}, 90_000)
afterAll(async () => sys?.close())

describe('the SDK README’s tour', () => {
  it('runs end to end against a running system', { timeout: 60_000 }, async () => {
    const child = spawn(TSX, [TOUR], {
      env: { ...process.env, MCHAT_DATA_DIR: sys.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const code = await new Promise<number | null>((r) => child.once('exit', r))
    expect(code, out).toBe(0)
    expect(out).toMatch(/refused as expected: 404 to_employee_id: no such employee/)
    expect(out).toMatch(/Alice sees Bob online/)
    expect(out).toMatch(/Bob got "你好，下午会议改到 3 点。" from tour_alice_/)
    expect(out).toMatch(/Alice got the read receipt/)
    expect(out).toMatch(/Bob got the group message/)
    expect(out).toMatch(/Bob's history with Alice holds 1 message/)
    expect(out).toMatch(/• done/)
  })
})
