import { WORKER_ANSWER_TYPE, type AnswerLine, type Delivery, type Reply } from '../../schema/index.ts'

// Deliveries per chunk: a 2,000-member notice fan-out reaches the relay as it is built.
const LINES_PER_CHUNK = 64

/** The worker's answer: deliveries, then the reply, one JSON object per line, streamed. */
export function answer(deliveries: Iterable<Delivery>, reply: Reply): Response {
  const pending = deliveries[Symbol.iterator]()
  const encoder = new TextEncoder()
  const line = (l: AnswerLine) => JSON.stringify(l) + '\n'
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      let chunk = ''
      for (let n = 0; n < LINES_PER_CHUNK; n++) {
        const next = pending.next()
        if (next.done) {
          controller.enqueue(encoder.encode(chunk + line({ kind: 'reply', ...reply })))
          controller.close()
          return
        }
        chunk += line({ kind: 'delivery', ...next.value })
      }
      controller.enqueue(encoder.encode(chunk))
    },
  })
  return new Response(body, { status: 200, headers: { 'content-type': WORKER_ANSWER_TYPE } })
}
