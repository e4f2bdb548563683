import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { followRouteFile, readRouteFile, RouteSource } from './route-source.ts'
import { bucketOf, pickRoute, routeTable, singleTarget, type RouteTable } from './routes.ts'

const table = (weight: number, extra: Partial<RouteTable['actions'][string]> = {}): RouteTable =>
  routeTable.parse({
    default: { url: 'http://stable.test' },
    actions: { 'msg.send_private': { canary: { target: { url: 'http://canary.test' }, weight }, ...extra } },
  })

const clients = (n: number) => Array.from({ length: n }, (_, i) => `emp_${i.toString(36)}.dev${i % 7}`)

describe('route table', () => {
  it('sends the weighted share of clients to the canary: 10 % of 2,000 within ±3 points, other actions untouched', () => {
    const t = table(10)
    const ids = clients(2000)
    const canary = ids.filter((c) => pickRoute(t, 'msg.send_private', c, 1000).variant === 'canary').length
    expect(Math.abs(canary / ids.length - 0.1)).toBeLessThanOrEqual(0.03)
    expect(ids.every((c) => pickRoute(t, 'org.tree', c, 1000).url === 'http://stable.test')).toBe(true)
    expect(ids.every((c) => pickRoute(table(0), 'msg.send_private', c, 1000).variant === 'stable')).toBe(true)
    expect(ids.every((c) => pickRoute(table(100), 'msg.send_private', c, 1000).variant === 'canary')).toBe(true)
  })

  it('is sticky per client: the same answer every time, and a canary client stays canary as the weight rises', () => {
    const ids = clients(500)
    const at = (w: number) =>
      new Set(ids.filter((c) => pickRoute(table(w), 'msg.send_private', c, 1000).variant === 'canary'))
    for (const c of ids.slice(0, 50))
      expect(
        new Set(Array.from({ length: 5 }, () => pickRoute(table(30), 'msg.send_private', c, 1000).variant)).size,
      ).toBe(1)
    const [w10, w25, w60] = [at(10), at(25), at(60)]
    for (const c of w10) expect(w25.has(c)).toBe(true)
    for (const c of w25) expect(w60.has(c)).toBe(true)
    expect(bucketOf('a.b', 'x')).toBe(bucketOf('a.b', 'x'))
  })

  it('a Cloudflare version target keeps the stable URL and sends the override and affinity headers; timeouts per action', () => {
    const t = routeTable.parse({
      default: { url: 'https://mchat.example.workers.dev' },
      timeout_ms: 8000,
      actions: {
        'msg.send_group': {
          canary: { target: { worker: 'mchat', version: 'dc8dcd28-271b' }, weight: 100 },
          timeout_ms: 60000,
        },
      },
    })
    expect(pickRoute(t, 'msg.send_group', 'emp_1.web', 10_000)).toEqual({
      url: 'https://mchat.example.workers.dev',
      headers: {
        'Cloudflare-Workers-Version-Overrides': 'mchat="dc8dcd28-271b"',
        'Cloudflare-Workers-Version-Key': 'emp_1.web',
      },
      variant: 'canary',
      target: 'dc8dcd28-271b',
      timeoutMs: 60000,
      fallback: {
        url: 'https://mchat.example.workers.dev',
        headers: {},
        target: 'https://mchat.example.workers.dev',
        firstLineMs: 30000,
      },
    })
    expect(pickRoute(t, 'org.tree', 'emp_1.web', 10_000)).toMatchObject({
      headers: {},
      variant: 'stable',
      timeoutMs: 8000,
    })
  })

  it('actions that may call AI agents wait at least the agent timeout, unless their own entry names one', () => {
    const t = routeTable.parse({
      default: { url: 'http://w' },
      timeout_ms: 8000,
      actions: { 'msg.send_group': { timeout_ms: 20_000 } },
    })
    expect(pickRoute(t, 'msg.send_private', 'e.d', 10_000, 75_000).timeoutMs).toBe(75_000)
    expect(pickRoute(t, 'msg.send_group', 'e.d', 10_000, 75_000).timeoutMs).toBe(20_000)
    expect(pickRoute(t, 'org.tree', 'e.d', 10_000, 75_000).timeoutMs).toBe(8000)
    expect(
      pickRoute(
        routeTable.parse({ default: { url: 'http://w' }, timeout_ms: 90_000 }),
        'msg.send_private',
        'e.d',
        10_000,
        75_000,
      ).timeoutMs,
    ).toBe(90_000)
    // Without an agent timeout (a relay configured by hand) nothing changes.
    expect(pickRoute(singleTarget('http://w'), 'msg.send_private', 'e.d', 500).timeoutMs).toBe(500)
  })

  it('a canary falls back to stable by default, within half the timeout unless first_line_ms says; fallback false turns it off', () => {
    const at = (canary: Record<string, unknown>) =>
      pickRoute(
        routeTable.parse({
          default: { url: 'http://stable.test' },
          actions: { 'org.tree': { canary: { target: { url: 'http://canary.test' }, weight: 100, ...canary } } },
        }),
        'org.tree',
        'e.d',
        10_000,
      )
    expect(at({})).toMatchObject({
      variant: 'canary',
      url: 'http://canary.test',
      fallback: { url: 'http://stable.test', target: 'http://stable.test', firstLineMs: 5000 },
    })
    expect(at({ first_line_ms: 250 }).fallback?.firstLineMs).toBe(250)
    expect(at({ first_line_ms: 60_000 }).fallback?.firstLineMs).toBe(10_000) // never past the request's own timeout
    expect(at({ fallback: false }).fallback).toBeUndefined()
    expect(pickRoute(table(0), 'msg.send_private', 'e.d', 1000).fallback).toBeUndefined() // stable has nothing to fall back to
    expect(
      routeTable.safeParse({
        default: { url: 'http://x' },
        actions: { 'org.tree': { canary: { target: { url: 'http://y' }, weight: 5, fallback: 'yes' } } },
      }).success,
    ).toBe(false)
    expect(
      routeTable.safeParse({
        default: { url: 'http://x' },
        actions: { 'org.tree': { canary: { target: { url: 'http://y' }, weight: 5, first_line_ms: 0 } } },
      }).success,
    ).toBe(false)
  })

  it('refuses what it cannot route, naming the field', () => {
    const bad = (v: unknown) => routeTable.safeParse(v)
    expect(bad({ default: { url: 'http://x' }, actions: { 'no.such': {} } }).success).toBe(false)
    expect(bad({ default: { worker: 'w', version: 'v' } }).success).toBe(false) // the default needs a url
    expect(
      bad({
        default: { url: 'http://x' },
        actions: { 'org.tree': { canary: { target: { version: 'v' }, weight: 5 } } },
      }).success,
    ).toBe(false)
    expect(
      bad({
        default: { url: 'http://x' },
        actions: { 'org.tree': { canary: { target: { url: 'http://y' }, weight: 101 } } },
      }).success,
    ).toBe(false)
    expect(bad({ default: { url: 'ftp://x' } }).success).toBe(false)
  })
})

describe('routes file', () => {
  const dirs: string[] = []
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

  it('is followed as it changes (also when replaced by rename); a broken file leaves the table in force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mchat-routes-'))
    dirs.push(dir)
    const path = join(dir, 'routes.json')
    await writeFile(path, JSON.stringify(table(0)))
    const source = new RouteSource(await readRouteFile(path))
    const logs: string[] = []
    const stop = followRouteFile(path, source, (m) => logs.push(m))
    try {
      await writeFile(path, JSON.stringify(table(25)))
      await vi.waitFor(() => expect(source.current.actions['msg.send_private']?.canary?.weight).toBe(25))
      await writeFile(join(dir, 'next.json'), JSON.stringify(table(50)))
      await rename(join(dir, 'next.json'), path)
      await vi.waitFor(() => expect(source.current.actions['msg.send_private']?.canary?.weight).toBe(50))
      await writeFile(path, '{"default": {"url": 7}}')
      await vi.waitFor(() => expect(logs.some((l) => /routes not reloaded .*default\.url/.test(l))).toBe(true))
      expect(source.current.actions['msg.send_private']?.canary?.weight).toBe(50)
      process.emit('SIGHUP')
      await vi.waitFor(() => expect(logs.some((l) => l.includes('(SIGHUP)'))).toBe(true))
    } finally {
      stop()
    }
    await expect(readRouteFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json/)
  })
})
