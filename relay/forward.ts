import type { WorkerErrorKind } from './metrics.ts'
import { Code, WORKER_ANSWER_TYPE, actionPath, answerLine, fail, isErrorCode, reply as replySchema, type Delivery, type Reply } from '../schema/index.ts'

export interface ForwardOptions {
  /** The base URL of the route's target. */
  url: string
  /** The route's own headers (a Cloudflare version override). */
  headers?: Record<string, string>
  token: string
  action: string
  body: Uint8Array
  timeoutMs: number
  /** Called for each delivery as soon as its line arrives, before the reply. */
  onDelivery: (d: Delivery) => void
  /** Told when the failure is the worker's reachability or answer, not a reply it gave. */
  onFailure?: (kind: WorkerErrorKind) => void
}

/**
 * One signed POST to the action's route. Never throws: every failure becomes the reply the client
 * gets — unreachable 503, too slow 504, anything malformed 500.
 */
export async function forward(o: ForwardOptions): Promise<Reply> {
  const signal = AbortSignal.timeout(o.timeoutMs)
  let res: Response
  try {
    res = await fetch(o.url + actionPath(o.action), {
      method: 'POST',
      body: o.body as Uint8Array<ArrayBuffer>,
      headers: { ...o.headers, authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      signal,
    })
  } catch (err) {
    o.onFailure?.(signal.aborted ? 'timeout' : 'unavailable')
    return signal.aborted ? fail(Code.TIMEOUT, 'worker timed out') : fail(Code.UNAVAILABLE, `worker unavailable (${cause(err)})`)
  }
  try {
    const type = res.headers.get('content-type') ?? ''
    if (res.ok && type.startsWith(WORKER_ANSWER_TYPE)) return await readAnswer(res, o.onDelivery)
    if (type.startsWith('application/json')) {
      const parsed = replySchema.safeParse(await res.json())
      // The worker's own error reply, data included (a 429 says when to retry).
      if (parsed.success && isErrorCode(parsed.data.code)) return { ...fail(parsed.data.code, parsed.data.message), data: parsed.data.data ?? null }
    }
    o.onFailure?.('http')
    return fail(Code.INTERNAL, `worker failed (HTTP ${res.status})`)
  } catch {
    o.onFailure?.(signal.aborted ? 'timeout' : 'malformed')
    // The details (a zod or JSON error) are for the worker's logs, not for the client.
    return signal.aborted ? fail(Code.TIMEOUT, 'worker timed out') : fail(Code.INTERNAL, 'worker answer malformed')
  }
}

async function readAnswer(res: Response, onDelivery: (d: Delivery) => void): Promise<Reply> {
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true })
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (!line.trim()) continue
      const parsed = answerLine.parse(JSON.parse(line))
      if (parsed.kind === 'delivery') {
        const { kind: _, ...delivery } = parsed
        onDelivery(delivery)
      } else {
        const { kind: _, ...reply } = parsed
        return reply
      }
    }
  }
  return fail(Code.INTERNAL, 'worker answer ended without a reply')
}

function cause(err: unknown): string {
  const e = err as { cause?: { code?: string }; message?: string }
  return e?.cause?.code ?? e?.message ?? String(err)
}
