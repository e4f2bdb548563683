import * as z from 'zod'
import { reply } from './envelope.ts'

/**
 * What a worker answers the relay: newline-delimited JSON, deliveries first, one reply last.
 * Streaming lets the relay publish a delivery the moment the worker has it (a human's message
 * goes out before a slow agent call returns). Errors raised before any line is written come back
 * as a plain JSON reply with the HTTP status equal to the code.
 */
export const WORKER_ANSWER_TYPE = 'application/x-ndjson'

export const deliveryLine = z.object({
  kind: z.literal('delivery'),
  topic: z.string(),
  payload: z.unknown(),
  retain: z.boolean().optional(),
})
export const replyLine = reply.extend({ kind: z.literal('reply') })
export const answerLine = z.discriminatedUnion('kind', [deliveryLine, replyLine])

export type Delivery = Omit<z.infer<typeof deliveryLine>, 'kind'>
export type AnswerLine = z.infer<typeof answerLine>
