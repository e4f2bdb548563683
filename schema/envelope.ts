import * as z from 'zod'
import { Code, type ErrorCode } from './codes.ts'

/** Every request payload: an action, and optionally the topic's seq_id repeated (seed 002 §1.1). */
export const requestEnvelope = z.looseObject({
  action: z.string().min(1).max(64),
  seq_id: z.string().optional(),
})

export type EnvelopeCheck = { ok: true; action: string } | { ok: false; message: string }

/** Checks a parsed payload against the envelope and the seq_id taken from the topic. */
export function checkEnvelope(payload: unknown, topicSeqId: string): EnvelopeCheck {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, message: 'payload must be a JSON object' }
  }
  const parsed = requestEnvelope.safeParse(payload)
  if (!parsed.success) return { ok: false, message: describeZodError(parsed.error) }
  if (parsed.data.seq_id !== undefined && parsed.data.seq_id !== topicSeqId) {
    return { ok: false, message: 'seq_id: does not match the seq_id in the topic' }
  }
  return { ok: true, action: parsed.data.action }
}

/** The reply on mchat/msg/resp/{client_id}/{seq_id}: {code, message, data} (seed 002 §1.1, §3.20). */
export const reply = z.object({
  seq_id: z.string().optional(),
  code: z.number().int(),
  message: z.string(),
  data: z.unknown(),
})
export type Reply = z.infer<typeof reply>

export const ok = (data: unknown): Reply => ({ code: Code.OK, message: 'ok', data })
export const fail = (code: ErrorCode, message: string): Reply => ({ code, message, data: null })

/** One line naming the first offending field, e.g. `to_employee_id: Invalid input: expected string`. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid request'
  const path = issue.path.map(String).join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}

/** Requests nest no deeper than this (the deepest contract needs 4); deeper is refused with 400. */
export const MAX_JSON_DEPTH = 32

/** Whether JSON text opens more than `max` arrays/objects at once; one pass, strings skipped. */
export function nestedDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 0x5c)
        i++ // backslash: skip the escaped character
      else if (ch === 0x22) inString = false
    } else if (ch === 0x22) inString = true
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) return true
    } else if (ch === 0x5d || ch === 0x7d) depth--
  }
  return false
}
