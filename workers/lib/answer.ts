import { WORKER_ANSWER_TYPE, fail, type AnswerLine, type Delivery, type Reply } from '../../schema/index.ts'
import type { FollowUp } from './action.ts'

// Deliveries per chunk: a 2,000-member notice fan-out reaches the relay as it is built.
const LINES_PER_CHUNK = 64

/**
 * The worker's answer: deliveries, then the reply, one JSON object per line, streamed. With a
 * follow-up, the first deliveries are flushed before it starts (a human's message leaves before an
 * agent is called); each of its deliveries goes out as it comes, and the reply it returns, if any,
 * replaces `reply`.
 */
export function answer(deliveries: Iterable<Delivery>, reply: Reply, followUp?: FollowUp | null): Response {
  const pending = deliveries[Symbol.iterator]()
  const encoder = new TextEncoder()
  const line = (l: AnswerLine) => JSON.stringify(l) + '\n'
  const headers = { 'content-type': WORKER_ANSWER_TYPE }
  // Most answers are a delivery or two and the reply: complete after one chunk, they go out as a
  // plain body, which costs a runtime far less than a stream (docs/benchmarks.md).
  let first = ''
  if (!followUp) {
    for (let n = 0; n < LINES_PER_CHUNK; n++) {
      const next = pending.next()
      if (next.done) return new Response(first + line({ kind: 'reply', ...reply }), { status: 200, headers })
      first += line({ kind: 'delivery', ...next.value })
    }
  }
  let following = false
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        controller.enqueue(encoder.encode(first))
        first = ''
        return
      }
      if (following) return follow(controller)
      let chunk = ''
      for (let n = 0; n < LINES_PER_CHUNK; n++) {
        const next = pending.next()
        if (next.done) {
          if (followUp) {
            following = true
            // A pull must enqueue something, or the stream waits for a read that already came.
            return chunk ? controller.enqueue(encoder.encode(chunk)) : follow(controller)
          }
          controller.enqueue(encoder.encode(chunk + line({ kind: 'reply', ...reply })))
          controller.close()
          return
        }
        chunk += line({ kind: 'delivery', ...next.value })
      }
      controller.enqueue(encoder.encode(chunk))
    },
    cancel() {
      // The relay gave up (its timeout): stop waiting for agents nobody will hear.
      void followUp?.return?.(undefined)
    },
  })
  async function follow(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    let next: IteratorResult<Delivery, Reply | undefined>
    try {
      next = await followUp!.next()
    } catch (err) {
      // Whatever went before was delivered: the reply says the rest failed, the stream still ends well.
      console.error(err)
      next = { done: true, value: fail(500, 'internal error') }
    }
    if (!next.done) return controller.enqueue(encoder.encode(line({ kind: 'delivery', ...next.value })))
    controller.enqueue(encoder.encode(line({ kind: 'reply', ...(next.value ?? reply) })))
    controller.close()
  }
  return new Response(body, { status: 200, headers })
}
