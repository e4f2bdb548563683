import * as z from 'zod'

/** Message content (seed 002 §1.3): a string, or {type: text|image|file, body}. */

export const CONTENT_MAX_BYTES = 16 * 1024

const url = z.url({ protocol: /^https?$/ }).max(2048)

const text = z.object({
  type: z.literal('text'),
  body: z.union([z.string().min(1), z.object({ text: z.string().min(1) })]),
})
const image = z.object({
  type: z.literal('image'),
  body: z.object({
    url,
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
  }),
})
const file = z.object({
  type: z.literal('file'),
  body: z.object({ url, name: z.string().min(1).max(255), size: z.number().int().nonnegative() }),
})

const encoder = new TextEncoder()

export const messageContent = z
  .union([z.string().min(1), z.discriminatedUnion('type', [text, image, file])], {
    error: (iss) =>
      iss.input === undefined ? 'required' : 'must be a non-empty string or {type: text|image|file, body}',
  })
  .refine((c) => encoder.encode(typeof c === 'string' ? c : JSON.stringify(c)).byteLength <= CONTENT_MAX_BYTES, {
    message: `content is larger than ${CONTENT_MAX_BYTES} bytes`,
  })

export type MessageContent = z.infer<typeof messageContent>
