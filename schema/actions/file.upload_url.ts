import * as z from 'zod'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { storageExpiresIn } from './config.storage.ts'
import { defineAction } from './define.ts'

/** A bare MIME type (`image/png`), lower-cased: it is signed into the URL and must be sent as is. */
export const contentType = z
  .string()
  .max(127)
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/,
    'must be a MIME type such as image/png, without parameters',
  )

/**
 * Seed 002 §3.16: one presigned PUT for one new object, bound to the declared content type and
 * size. Without a conversation the object is the caller's own (`u/…`); with
 * `conversation_type: private` + `peer_employee_id` or `conversation_type: group` + `group_id`
 * (the names of msg.read_ack, seed 002 §3.13) it goes under that conversation, so the peer or
 * the group's members can read it with file.download_url.
 */
export const fileUploadUrl = defineAction({
  name: 'file.upload_url',
  request: z
    .object({
      file_name: z.string().min(1).max(255),
      content_type: contentType,
      size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      conversation_type: z.enum(['private', 'group']).optional(),
      peer_employee_id: employeeId.optional(),
      group_id: groupId.optional(),
      expires_in: storageExpiresIn.optional(),
    })
    .superRefine((r, ctx) => {
      const need = (field: 'peer_employee_id' | 'group_id', present: boolean, message: string) => {
        if (present) ctx.addIssue({ code: 'custom', path: [field], message })
      }
      if (r.conversation_type === 'private') {
        need('peer_employee_id', r.peer_employee_id === undefined, 'required when conversation_type is private')
        need('group_id', r.group_id !== undefined, 'only with conversation_type group')
      } else if (r.conversation_type === 'group') {
        need('group_id', r.group_id === undefined, 'required when conversation_type is group')
        need('peer_employee_id', r.peer_employee_id !== undefined, 'only with conversation_type private')
      } else if (r.peer_employee_id !== undefined || r.group_id !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['conversation_type'],
          message: 'required with peer_employee_id or group_id',
        })
      }
    }),
  reply: z.object({
    url: z.string(),
    method: z.literal('PUT'),
    /** Send exactly these with the body (Content-Length is set by any HTTP client from the body). */
    headers: z.record(z.string(), z.string()),
    key: z.string(),
    /** The object's unsigned URL: what an image or file message carries (seed 002 §1.3). */
    object_url: z.string(),
    expires_at: isoTime,
  }),
  session: 'required',
  effect: 'read',
  limit: 'message',
})
