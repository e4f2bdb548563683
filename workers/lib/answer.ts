import { WORKER_ANSWER_TYPE, type AnswerLine, type Delivery, type Reply } from '../../schema/index.ts'

/** The worker's answer: deliveries, then the reply, one JSON object per line. */
export function answer(deliveries: readonly Delivery[], reply: Reply): Response {
  const lines: AnswerLine[] = [...deliveries.map((d) => ({ kind: 'delivery' as const, ...d })), { kind: 'reply', ...reply }]
  return new Response(lines.map((l) => JSON.stringify(l)).join('\n') + '\n', {
    status: 200,
    headers: { 'content-type': WORKER_ANSWER_TYPE },
  })
}
