import http from 'node:http'
import https from 'node:https'
import type { WorkerErrorKind } from './metrics.ts'
import {
  Code,
  WORKER_ANSWER_TYPE,
  actionPath,
  answerLine,
  fail,
  isErrorCode,
  reply as replySchema,
  type Delivery,
  type Reply,
} from '../schema/index.ts'

/** A worker app's own `fetch` (e.g. Hono's `app.fetch` with its bindings), to call it in-process. */
export type WorkerFetch = (url: string, init: RequestInit) => Promise<Response>

export interface ForwardOptions {
  /** The base URL of the route's target. */
  url: string
  /** The route's own headers (a Cloudflare version override). */
  headers?: Record<string, string>
  token: string
  action: string
  body: Uint8Array
  timeoutMs: number
  /**
   * Gives up (as a timeout) when no answer line has come within this long: a canary that stalls
   * leaves stable the rest of the request's time. Default: only `timeoutMs`.
   */
  firstLineMs?: number | undefined
  /** Called for each delivery as soon as its line arrives, before the reply. */
  onDelivery: (d: Delivery) => void
  /** Told when the failure is the worker's reachability or answer, not a reply it gave. */
  onFailure?: (kind: WorkerErrorKind) => void
  /** Default: an HTTP POST over kept-alive connections. */
  fetch?: WorkerFetch | undefined
}

/**
 * One signed POST to the action's route. Never throws: every failure becomes the reply the client
 * gets — unreachable 503, too slow 504, anything malformed 500.
 */
export async function forward(o: ForwardOptions): Promise<Reply> {
  const overall = AbortSignal.timeout(o.timeoutMs)
  const firstLine = o.firstLineMs !== undefined && o.firstLineMs < o.timeoutMs ? new AbortController() : undefined
  const timer = firstLine && setTimeout(() => firstLine.abort(), o.firstLineMs)
  // Once the worker has begun to answer, only the overall timeout applies.
  const answering = () => clearTimeout(timer)
  const signal = firstLine ? AbortSignal.any([overall, firstLine.signal]) : overall
  const url = o.url + actionPath(o.action)
  const headers = { ...o.headers, authorization: `Bearer ${o.token}`, 'content-type': 'application/json' }
  let res: WorkerResponse
  try {
    res = o.fetch ? await viaFetch(o.fetch, url, headers, o.body, signal) : await post(url, headers, o.body, signal)
  } catch (err) {
    answering()
    o.onFailure?.(signal.aborted ? 'timeout' : 'unavailable')
    return signal.aborted
      ? fail(Code.TIMEOUT, 'worker timed out')
      : fail(Code.UNAVAILABLE, `worker unavailable (${cause(err)})`)
  }
  try {
    if (res.status >= 200 && res.status < 300 && res.contentType.startsWith(WORKER_ANSWER_TYPE)) {
      const reply = await readAnswer(res, o.onDelivery, answering)
      if (reply) return reply
      // A stream cut short by the timeout may end without an error.
      if (signal.aborted) throw new Error('aborted')
      return fail(Code.INTERNAL, 'worker answer ended without a reply')
    }
    answering()
    if (res.contentType.startsWith('application/json')) {
      let text = ''
      await res.read((s) => {
        text += s
        return false
      })
      const parsed = replySchema.safeParse(JSON.parse(text))
      // The worker's own error reply, data included (a 429 says when to retry).
      if (parsed.success && isErrorCode(parsed.data.code))
        return { ...fail(parsed.data.code, parsed.data.message), data: parsed.data.data ?? null }
    }
    o.onFailure?.('http')
    return fail(Code.INTERNAL, `worker failed (HTTP ${res.status})`)
  } catch {
    o.onFailure?.(signal.aborted ? 'timeout' : 'malformed')
    // The details (a zod or JSON error) are for the worker's logs, not for the client.
    return signal.aborted ? fail(Code.TIMEOUT, 'worker timed out') : fail(Code.INTERNAL, 'worker answer malformed')
  } finally {
    answering()
    res.discard()
  }
}

/** What forward() reads of the worker's answer, whichever way the worker was called. */
interface WorkerResponse {
  status: number
  contentType: string
  /**
   * Feeds the body as text to `onText` until it returns true or the body ends; rejects if the
   * body breaks off or `onText` throws. What follows a `true` is drained, not read.
   */
  read(onText: (text: string) => boolean): Promise<void>
  /** Lets go of whatever was not read, so the connection can serve the next call. */
  discard(): void
}

// undici's fetch cost the relay about three times the CPU of node:http per call (web streams,
// Request and Response objects; docs/benchmarks.md), and the relay makes one call per request.
// The agent timeout retires idle connections before a Node server's 5 s keep-alive can close one
// under a new request (a shorter Keep-Alive hint from the server, less a second, wins).
const agents = {
  http: new http.Agent({ keepAlive: true, timeout: 4_000 }),
  https: new https.Agent({ keepAlive: true, timeout: 4_000 }),
}

function post(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<WorkerResponse> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:')
    const req = (secure ? https : http).request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(body.byteLength) },
        agent: secure ? agents.https : agents.http,
        signal,
      },
      (res) => {
        res.setEncoding('utf8')
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? '',
          read: (onText) =>
            new Promise<void>((done, fail) => {
              const settle = (err?: Error) => {
                res.off('data', onData)
                res.off('end', onEnd)
                res.off('error', onError)
                res.off('close', onClose)
                if (err) fail(err)
                else done()
              }
              const onData = (text: string) => {
                let finished: boolean
                try {
                  finished = onText(text)
                } catch (err) {
                  res.destroy()
                  return settle(err as Error)
                }
                // Read to its end without us: a response destroyed half-read would take its
                // connection down with it, and the next call would pay for a new one.
                if (finished) settle()
              }
              const onEnd = () => settle()
              const onError = (err: Error) => settle(err)
              const onClose = () => settle(res.complete ? undefined : new Error('answer cut short'))
              res.on('data', onData)
              res.on('end', onEnd)
              res.on('error', onError)
              res.on('close', onClose)
            }),
          discard: () => {
            // An error after we stopped listening must not become an uncaught exception.
            if (res.listenerCount('error') === 0) res.on('error', () => {})
            res.resume()
          },
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function viaFetch(
  f: WorkerFetch,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<WorkerResponse> {
  const res = await f(url, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers, signal })
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    async read(onText) {
      if (!res.body) return
      reader = res.body.getReader()
      const decoder = new TextDecoder()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        if (onText(decoder.decode(value, { stream: true }))) return
      }
    },
    discard() {
      if (reader) void drain(reader)
      else if (res.body && !res.body.locked) res.body.cancel().catch(() => {})
    },
  }
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // already broken off; nothing left to free
  }
}

/** Hands on each delivery line and returns the reply line; null if the answer ends before one. */
async function readAnswer(
  res: WorkerResponse,
  onDelivery: (d: Delivery) => void,
  onFirstLine: () => void,
): Promise<Reply | null> {
  let buffered = ''
  let reply: Reply | null = null
  await res.read((text) => {
    buffered += text
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (!line.trim()) continue
      onFirstLine()
      const parsed = answerLine.parse(JSON.parse(line))
      if (parsed.kind === 'delivery') {
        const { kind: _, ...delivery } = parsed
        onDelivery(delivery)
      } else {
        const { kind: _, ...rest } = parsed
        reply = rest
        return true
      }
    }
    return false
  })
  return reply
}

function cause(err: unknown): string {
  const e = err as { cause?: { code?: string }; code?: string; message?: string }
  return e?.cause?.code ?? e?.code ?? e?.message ?? String(err)
}
