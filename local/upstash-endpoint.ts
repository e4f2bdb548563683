import { createHash, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Redis } from 'ioredis'
import RedisMock from 'ioredis-mock'
import { listen } from './ports.ts'

export interface UpstashEndpoint {
  url: string
  token: string
  kind: 'redis' | 'embedded'
  close(): Promise<void>
}

type Reply = { result: unknown } | { error: string }

/** The Redis side: one command, or a list of them run atomically. */
interface Backend {
  kind: UpstashEndpoint['kind']
  call(command: string[]): Promise<unknown>
  transaction(commands: string[][]): Promise<Reply[]>
  close(): Promise<void>
}

const BODY_LIMIT = 10 * 1024 * 1024
const START_TIMEOUT_MS = 5000

// Commands that change the state of the shared connection, or never answer; over REST they
// would break every other request multiplexed onto it.
const CONNECTION_COMMANDS = new Set([
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'select',
  'auth',
  'hello',
  'reset',
  'quit',
  'client',
  'monitor',
  'sync',
  'psync',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'blpop',
  'brpop',
  'blmove',
  'brpoplpush',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'xread',
  'xreadgroup',
  'wait',
  'waitaof',
  'shutdown',
  'debug',
])

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Serves the Upstash Redis REST protocol (what `@upstash/redis` speaks) in front of a real Redis
 * (`redisUrl`) or, without one, an in-process ioredis-mock, so the unmodified Upstash clients work
 * locally. `onCommand` sees every command a client sent, before any rewriting.
 */
export async function startUpstashEndpoint(o: {
  redisUrl?: string | undefined
  token: string
  host?: string
  port?: number
  onCommand?: (command: readonly string[]) => void
}): Promise<UpstashEndpoint> {
  const host = o.host ?? '127.0.0.1'
  const backend = o.redisUrl ? await connectRedis(o.redisUrl) : embeddedBackend()
  const scripts = new ScriptMap()

  // One command as sent over / or /pipeline: an EVALSHA the client hashed from the original
  // script text first tries the stripped script's hash, then EVAL of it.
  const run = async (command: string[]): Promise<Reply> => {
    o.onCommand?.(command)
    const p = scripts.prepare(command)
    try {
      const result = await backend.call(p.command)
      return { result: p.result ?? result }
    } catch (err) {
      if (p.fallback && messageOf(err).startsWith('NOSCRIPT')) {
        try {
          return { result: await backend.call(p.fallback) }
        } catch (again) {
          return { error: messageOf(again) }
        }
      }
      return { error: messageOf(err) }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (err instanceof HttpError) reply(res, err.status, { error: err.message })
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 30_000
  server.on('connection', (socket) => socket.setNoDelay(true))

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method !== 'POST' || !['/', '/pipeline', '/multi-exec'].includes(path)) {
      throw new HttpError(404, `ERR ${req.method} ${path} is not served here`)
    }
    if (req.headers.authorization !== `Bearer ${o.token}`) throw new HttpError(401, 'Unauthorized')
    const body = await readJson(req)
    const base64 = String(req.headers['upstash-encoding']).toLowerCase() === 'base64'
    const send = (status: number, payload: Reply | Reply[]): void => reply(res, status, encode(payload, base64))

    if (path === '/') {
      const r = await run(commandOf(body))
      send('error' in r ? 400 : 200, r)
      return
    }
    if (!Array.isArray(body) || body.length === 0)
      throw new HttpError(400, 'ERR expected a non-empty array of commands')
    const commands = body.map(commandOf)
    if (path === '/pipeline') {
      const replies: Reply[] = []
      for (const c of commands) replies.push(await run(c))
      send(200, replies)
      return
    }
    // Inside MULTI there is no second chance after NOSCRIPT, so known scripts go in as EVAL.
    commands.forEach((c) => o.onCommand?.(c))
    const prepared = commands.map((c) => scripts.prepare(c))
    try {
      const replies = await backend.transaction(prepared.map((p) => p.fallback ?? p.command))
      send(
        200,
        replies.map((r, i) =>
          'result' in r && prepared[i]!.result !== undefined ? { result: prepared[i]!.result } : r,
        ),
      )
    } catch (err) {
      send(400, { error: messageOf(err) })
    }
  }

  try {
    const port = await listen(server, o.port ?? 0, host, 'upstash endpoint')
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      token: o.token,
      kind: backend.kind,
      close: async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await closed
        await backend.close()
      },
    }
  } catch (err) {
    await backend.close()
    throw err
  }
}

/**
 * @upstash/ratelimit's scripts start with `#!lua flags=allow-key-locking`, a flag only Upstash
 * knows: plain Redis refuses the script. They run here without that line, while clients keep
 * addressing them by the SHA1 of the text they hold.
 */
class ScriptMap {
  private readonly byOriginalSha = new Map<string, string>()

  /** The command to send, a replacement when it answers NOSCRIPT, or a result to answer instead. */
  prepare(command: string[]): { command: string[]; fallback?: string[]; result?: string } {
    const [name = '', ...args] = command
    const lower = name.toLowerCase()
    if ((lower === 'eval' || lower === 'eval_ro') && args.length > 0) {
      return { command: [name, this.remember(args[0]!).stripped, ...args.slice(1)] }
    }
    if ((lower === 'evalsha' || lower === 'evalsha_ro') && args.length > 0) {
      const stripped = this.byOriginalSha.get(args[0]!.toLowerCase())
      if (stripped === undefined) return { command }
      return {
        command: [name, sha1(stripped), ...args.slice(1)],
        fallback: [lower.replace('sha', ''), stripped, ...args.slice(1)],
      }
    }
    if (lower === 'script' && args[0]?.toLowerCase() === 'load' && args.length === 2) {
      const { sha, stripped } = this.remember(args[1]!)
      return { command: [name, args[0], stripped], result: sha }
    }
    return { command }
  }

  private remember(script: string): { sha: string; stripped: string } {
    // The shebang line is blanked, not removed, so that Lua error line numbers stay right.
    const stripped = script.startsWith('#!lua') ? script.replace(/^#!lua[^\n]*/, '') : script
    const sha = sha1(script)
    if (stripped !== script) this.byOriginalSha.set(sha, stripped)
    return { sha, stripped }
  }
}

async function connectRedis(url: string): Promise<Backend> {
  let started = false
  let lastError = ''
  let lost = false
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    // Fail requests at once while Redis is away instead of queueing them, and never send a
    // rate-limit increment twice after a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => (started ? Math.min(times * 200, 2000) : null),
  })
  redis.on('error', (err: Error) => {
    lastError = err.message
    if (started && !lost) console.warn(`[upstash-endpoint] Redis connection lost: ${err.message}`)
    if (started) lost = true
  })
  redis.on('ready', () => {
    lost = false
  })
  // connectTimeout covers the TCP connect only: a peer that accepts and never answers would
  // leave start-up hanging without a deadline of its own.
  let deadline: NodeJS.Timeout | undefined
  const silent = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => reject(new Error(`no answer within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS)
  })
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), silent])
  } catch (err) {
    redis.disconnect()
    throw new Error(`Redis not reachable at ${redact(url)}: ${lastError || messageOf(err)}`, { cause: err })
  } finally {
    clearTimeout(deadline)
  }
  started = true
  return {
    kind: 'redis',
    call: ([name, ...args]) => {
      if (CONNECTION_COMMANDS.has(name!.toLowerCase())) return Promise.reject(notAllowed(name!))
      return redis.call(name!, ...args)
    },
    transaction: async (commands) => {
      const refused = commands.find(([name]) => CONNECTION_COMMANDS.has(name!.toLowerCase()))
      if (refused) throw notAllowed(refused[0]!)
      const multi = redis.multi()
      for (const [name, ...args] of commands) multi.call(name!, ...args)
      const results = (await multi.exec()) ?? []
      return results.map(([err, result]) => (err ? { error: err.message } : { result }))
    },
    close: async () => {
      started = false
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

/**
 * ioredis-mock has no generic `call`: commands are its methods. Everything runs one after another,
 * which makes a transaction atomic as far as clients of this endpoint can tell.
 */
function embeddedBackend(): Backend {
  // A host of its own: ioredis-mock shares data between instances with the same host and port.
  const mock = new RedisMock({ host: `embedded-${randomUUID()}` }) as unknown as Record<string, unknown>
  const known = new Set(Redis.prototype.getBuiltinCommands())
  let tail: Promise<unknown> = Promise.resolve()
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const p = tail.then(f)
    tail = p.catch(() => {})
    return p
  }
  const method = (name: string): ((...args: string[]) => Promise<unknown>) | Error => {
    const lower = name.toLowerCase()
    if (CONNECTION_COMMANDS.has(lower)) return notAllowed(name)
    const f = mock[lower]
    return known.has(lower) && typeof f === 'function'
      ? (f as (...args: string[]) => Promise<unknown>).bind(mock)
      : new Error(`ERR unknown command '${name}'`)
  }
  const call = async ([name, ...args]: string[]): Promise<unknown> => {
    const lower = name!.toLowerCase()
    // SCRIPT is not mocked; EVALSHA of an unloaded script falls back to EVAL anyway.
    if (lower === 'script' && args[0]?.toLowerCase() === 'load' && args.length === 2) return sha1(args[1]!)
    const f = method(name!)
    if (f instanceof Error) throw f
    const result = await f(...args)
    return lower.startsWith('eval') ? luaToRedis(result) : (result ?? null)
  }
  return {
    kind: 'embedded',
    call: (command) => serially(() => call(command)),
    transaction: (commands) =>
      serially(async () => {
        const unknown = commands.map(([name]) => method(name!)).find((f) => f instanceof Error)
        if (unknown) throw new Error(`EXECABORT Transaction discarded because of previous errors: ${unknown.message}`)
        const replies: Reply[] = []
        for (const c of commands)
          replies.push(
            await call(c).then(
              (result) => ({ result }),
              (err) => ({ error: messageOf(err) }),
            ),
          )
        return replies
      }),
    close: async () => {
      await serially(async () => {
        await (mock.flushall as () => Promise<unknown>).call(mock)
        ;(mock.disconnect as () => void).call(mock)
      })
    },
  }
}

/** Redis's conversion of Lua return values, which the mock leaves to fengari-interop. */
function luaToRedis(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(luaToRedis)
  if (v === true) return 1
  if (v === false || v === undefined || v === null) return null
  if (typeof v === 'number') return Math.trunc(v)
  if (typeof v === 'string') return v
  // A table with holes or keys comes back as a proxy into a Lua state that is already gone.
  throw new Error('ERR the embedded store cannot return a Lua table that is not a plain array')
}

function commandOf(body: unknown): string[] {
  if (!Array.isArray(body) || body.length === 0 || typeof body[0] !== 'string') {
    throw new HttpError(400, 'ERR a command is a non-empty JSON array starting with its name')
  }
  return body.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)))
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > BODY_LIMIT) throw new HttpError(413, 'ERR request body too large')
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'ERR failed to parse the request body as JSON')
  }
}

/** With `Upstash-Encoding: base64` every string of a result is sent as base64 of its UTF-8. */
function encode(payload: Reply | Reply[], base64: boolean): unknown {
  const value = (v: unknown): unknown => {
    if (typeof v === 'string') return base64 ? Buffer.from(v, 'utf8').toString('base64') : v
    if (Array.isArray(v)) return v.map(value)
    return v ?? null
  }
  const one = (r: Reply): Reply => ('error' in r ? r : { result: value(r.result) })
  return Array.isArray(payload) ? payload.map(one) : one(payload)
}

function reply(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function notAllowed(name: string): Error {
  return new Error(`ERR command '${name}' is not allowed over REST`)
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex')
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
