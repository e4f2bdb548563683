import { createHash, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { Ratelimit } from '@upstash/ratelimit'
// The runtime-neutral entry (fetch and Web Crypto only): the one the workers use.
import { Redis } from '@upstash/redis/cloudflare'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { realRedisUrl, realServicesMissing } from '../test/support/services.ts'
import type { Bindings } from '../workers/env.ts'
import { checkRateLimit } from '../workers/lib/rate-limit.ts'
import { freePort, listen } from './ports.ts'
import { startUpstashEndpoint, type UpstashEndpoint } from './upstash-endpoint.ts'

const TOKEN = 'local-upstash-token'
const WINDOW_MS = 10_000

function endpointSuite(kind: UpstashEndpoint['kind'], redisUrl?: string): void {
  let endpoint: UpstashEndpoint
  let redis: Redis
  // Unique per test, so that runs against a shared real Redis never see each other's keys.
  const suite = `mchat-test:${randomUUID()}:`
  const prefix = (): string => `${suite}${randomUUID()}:`

  const limiter = (r: Redis = redis): Ratelimit =>
    new Ratelimit({
      redis: r,
      limiter: Ratelimit.slidingWindow(3, '10 s'),
      ephemeralCache: false,
      analytics: false,
      prefix: prefix(),
    })

  beforeAll(async () => {
    endpoint = await startUpstashEndpoint({ redisUrl, token: TOKEN })
    redis = new Redis({ url: endpoint.url, token: endpoint.token })
  })
  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${suite}*`)
      if (keys.length > 0) await redis.del(...keys)
    }
    await endpoint?.close()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  // A sliding window also counts part of the previous window: the limiter tests pin the clock
  // a second into a fresh window so that a boundary never falls between their calls.
  const pinClockInsideAWindow = (): void => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((Math.floor(Date.now() / WINDOW_MS) + 1) * WINDOW_MS + 1000)
  }

  it('is backed by the expected kind of store', () => {
    expect(endpoint.kind).toBe(kind)
  })

  it('sets, gets (unicode, base64 on the wire) and increments', async () => {
    const key = prefix()
    const text = 'grüße, 世界 — ✓ 🚀'
    expect(await redis.set(`${key}s`, text)).toBe('OK')
    expect(await redis.get(`${key}s`)).toBe(text)
    expect(await redis.get(`${key}missing`)).toBeNull()
    expect(await redis.incr(`${key}n`)).toBe(1)
    expect(await redis.incr(`${key}n`)).toBe(2)
    // ioredis-mock's messages differ from Redis's (and its INCR of text gives null): any error will do.
    await expect(redis.lpush(`${key}s`, 'x')).rejects.toThrow()
  })

  it('runs a pipeline, errors staying with their own command', async () => {
    const key = prefix()
    const p = redis.pipeline()
    p.set(`${key}a`, 'x')
    p.lpush(`${key}a`, 'y')
    p.get(`${key}a`)
    p.incr(`${key}b`)
    const results = await p.exec({ keepErrors: true })
    expect(results.map((r) => r.result)).toEqual(['OK', undefined, 'x', 1])
    expect(results[1]!.error).toEqual(expect.any(String))
  })

  it('runs multi/exec', async () => {
    const key = prefix()
    const results = await redis.multi().set(`${key}c`, '1').incr(`${key}c`).incr(`${key}c`).get(`${key}c`).exec()
    expect(results).toEqual(['OK', 2, 3, 3])
  })

  it('refuses a wrong token and a malformed body', async () => {
    const wrong = new Redis({ url: endpoint.url, token: 'not-the-token', retry: false })
    await expect(wrong.get('anything')).rejects.toThrow(/Unauthorized/)

    const raw = await fetch(endpoint.url, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
      body: '["PING"]',
    })
    expect(raw.status).toBe(401)
    expect(await raw.json()).toEqual({ error: expect.any(String) })

    const bad = await fetch(`${endpoint.url}/pipeline`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '[["PING"',
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: expect.any(String) })
  })

  it('answers plain JSON without the base64 header', async () => {
    const key = prefix()
    const res = await fetch(`${endpoint.url}/pipeline`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify([
        ['SET', `${key}p`, 'é'],
        ['GET', `${key}p`],
        ['LPUSH', `${key}p`, 'x'],
        ['INCRBY', `${key}n`, 5],
      ]),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual([{ result: 'OK' }, { result: 'é' }, { error: expect.any(String) }, { result: 5 }])
  })

  it('loads and runs a script with an Upstash shebang by the hash of its original text', async () => {
    const script = '#!lua flags=allow-key-locking\nreturn {ARGV[1], 7}'
    const sha = createHash('sha1').update(script).digest('hex')
    expect(await redis.scriptLoad(script)).toBe(sha)
    expect(await redis.evalsha(sha, [], ['hi'])).toEqual(['hi', 7])
    expect(await redis.eval(script, [], ['again'])).toEqual(['again', 7])
    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/)
  })

  it('allows 3 requests in the window, refuses the 4th until a future reset', async () => {
    pinClockInsideAWindow()
    const rl = limiter()
    const allowed = [await rl.limit('alice'), await rl.limit('alice'), await rl.limit('alice')]
    expect(allowed.map((r) => [r.success, r.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ])
    const refused = await rl.limit('alice')
    expect(refused.success).toBe(false)
    expect(refused.remaining).toBe(0)
    expect(refused.reset).toBeGreaterThan(Date.now())
  })

  it('keeps identifiers independent', async () => {
    pinClockInsideAWindow()
    const rl = limiter()
    for (let i = 0; i < 4; i++) await rl.limit('busy')
    expect((await rl.limit('busy')).success).toBe(false)
    expect((await rl.limit('quiet')).success).toBe(true)
    expect((await rl.getRemaining('quiet')).remaining).toBe(2)
  })

  it('runs the limiter by EVALSHA once the script is known', async () => {
    pinClockInsideAWindow()
    // A fresh endpoint, so that no script is known to it yet.
    const seen: string[] = []
    const own = await startUpstashEndpoint({ redisUrl, token: TOKEN, onCommand: (c) => seen.push(c[0]!.toLowerCase()) })
    try {
      const rl = limiter(new Redis({ url: own.url, token: own.token }))
      expect((await rl.limit('bob')).success).toBe(true)
      // The client's EVALSHA of the unknown script answered NOSCRIPT, so it fell back to EVAL.
      expect(seen).toEqual(['evalsha', 'eval'])
      seen.length = 0
      const results = [await rl.limit('bob'), await rl.limit('bob'), await rl.limit('bob')]
      expect(results.map((r) => r.success)).toEqual([true, true, false])
      // Only EVALSHA now: a failed one would have been followed by an EVAL.
      expect(seen).toEqual(['evalsha', 'evalsha', 'evalsha'])
    } finally {
      await own.close()
    }
  })

  it('answers many concurrent first limiter calls, the script unknown to all of them', async () => {
    const own = await startUpstashEndpoint({ redisUrl, token: TOKEN })
    try {
      const rl = new Ratelimit({
        redis: new Redis({ url: own.url, token: own.token }),
        limiter: Ratelimit.slidingWindow(999_999, '10 s'),
        ephemeralCache: false,
        analytics: false,
        prefix: prefix(),
      })
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => rl.limit(`id${i % 10}`)))
      expect(results.every((r) => r.success)).toBe(true)
    } finally {
      await own.close()
    }
  })
}

describe('Upstash REST endpoint on the embedded store (ioredis-mock)', () => {
  endpointSuite('embedded')
})

describe.skipIf(realServicesMissing('redis'))('Upstash REST endpoint on real Redis', () => {
  endpointSuite('redis', realRedisUrl)
})

describe('Upstash REST endpoint start-up', () => {
  it('rejects with one clear line when Redis is unreachable', async () => {
    const port = await freePort()
    const start = startUpstashEndpoint({ redisUrl: `redis://127.0.0.1:${port}`, token: TOKEN })
    await expect(start).rejects.toThrow(
      new RegExp(`^Redis not reachable at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    )
  })
})

describe('the workers’ limiter client when the store is slower than RATE_LIMIT_TIMEOUT_MS', () => {
  // On a timeout, @upstash/redis given a plain AbortSignal answers itself with a made-up 200
  // `{result}`: for the limiter's /pipeline that is not an array, and the fuzzing e2e logged
  // `res.map is not a function` where this endpoint had sent nothing wrong.
  it('fails open and logs the timeout as the reason', async () => {
    const silent = createServer(() => {}) // accepts and never answers: a timeout, whatever the machine's speed
    const port = await listen(silent, 0, '127.0.0.1', 'silent store')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const env = {
        UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`,
        UPSTASH_REDIS_REST_TOKEN: TOKEN,
        RATE_LIMIT_MESSAGE: '999999/10s',
        RATE_LIMIT_TIMEOUT_MS: '50',
      } as Bindings
      expect(await checkRateLimit(env, 'message', 'alice', 'msg.send_private')).toEqual({
        allowed: true,
        reason: 'store-unavailable',
      })
      const logged = warn.mock.calls.map((c) => JSON.parse(String(c[0])))
      expect(logged).toEqual([
        {
          event: 'ratelimit_unavailable',
          policy: 'open',
          action: 'msg.send_private',
          error: expect.stringMatching(/timeout/i),
        },
      ])
    } finally {
      warn.mockRestore()
      silent.closeAllConnections()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})
