import * as z from 'zod'
import { isoTime } from '../ids.ts'
import { OBJECT_KEY_MAX_BYTES } from '../object-keys.ts'
import { storageExpiresIn } from './config.storage.ts'
import { defineAction } from './define.ts'

/**
 * Seed 002 §3.16: a presigned GET for one object the caller may read, named by its `key` or by
 * the `url` a message carried (file.upload_url's object_url). Exactly one of them.
 */
export const fileDownloadUrl = defineAction({
  name: 'file.download_url',
  request: z
    .object({
      key: z.string().min(1).max(OBJECT_KEY_MAX_BYTES).optional(),
      url: z.string().min(1).max(4096).optional(),
      expires_in: storageExpiresIn.optional(),
    })
    .refine((r) => (r.key === undefined) !== (r.url === undefined), {
      message: 'give either key or url',
      path: ['key'],
    }),
  reply: z.object({ url: z.string(), key: z.string(), expires_at: isoTime }),
  session: 'required',
  effect: 'read',
  limit: 'message',
})
