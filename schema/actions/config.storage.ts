import * as z from 'zod'
import { isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

/** Signature V4's own ceiling for a presigned request; a deployment's maximum is lower. */
export const SIGV4_MAX_EXPIRES_SECONDS = 604_800

/** How long a signed URL or policy should live, in seconds; the workers refuse more than their maximum. */
export const storageExpiresIn = z.number().int().min(1).max(SIGV4_MAX_EXPIRES_SECONDS)

/**
 * Seed 002 §3.14, seed 000 §3.2: where the object store is and a short-lived right to write under
 * the caller's own prefix, never a long-lived secret. The seed's access_key / secret_key /
 * session_token would need an STS most S3-compatible stores lack; seed 000 allows a presigned
 * policy instead, which is what `upload` is: a browser-style POST (multipart form with `fields`,
 * then the file) whose policy admits only keys starting with `key_prefix` and at most `max_size`
 * bytes. Reading goes through file.download_url.
 */
export const configStorage = defineAction({
  name: 'config.storage',
  request: z.object({ expires_in: storageExpiresIn.optional() }),
  reply: z.object({
    endpoint: z.string(),
    bucket: z.string(),
    region: z.string(),
    /** `u/{employee_id}/`: the only keys `upload` can write. */
    key_prefix: z.string(),
    /** The unsigned URL of `key_prefix` (seed 000 §3.2's url_prefix). */
    url_prefix: z.string(),
    upload: z.object({ url: z.string(), fields: z.record(z.string(), z.string()) }),
    max_size: z.number().int(),
    expires_at: isoTime,
  }),
  session: 'required',
  effect: 'read',
  limit: 'management',
})
