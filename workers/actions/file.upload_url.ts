import { keySafeFileName, newId, objectKey, type ObjectScope, type RequestOf } from '../../schema/index.ts'
import type { Caller } from '../env.ts'
import { defineHandler } from '../lib/action.ts'
import type { Sql } from '../lib/db.ts'
import { fail } from '../lib/errors.ts'
import { refuseNonMember } from '../lib/membership.ts'
import {
  contentTypeAllowed,
  expiresAt,
  lifetime,
  membershipOf,
  objectUrl,
  presignPut,
  signingTime,
  storageOf,
} from '../lib/storage.ts'

/**
 * Where the upload goes, checked against the database: a private chat needs an active peer (as
 * msg.send_private does), a group a live group the caller belongs to (as msg.send_group does).
 */
async function scopeOf(input: RequestOf<'file.upload_url'>, caller: Caller, sql: Sql): Promise<ObjectScope> {
  const me = caller.employee_id
  if (input.conversation_type === 'private') {
    const peer = input.peer_employee_id!
    if (peer === me) fail(400, 'peer_employee_id: that is you; upload without a conversation for your own files')
    const [row] = (await sql.query('SELECT status FROM employee WHERE employee_id = $1', [peer])) as Array<{
      status: string
    }>
    if (!row) fail(404, 'peer_employee_id: no such employee')
    if (row.status !== 'active') fail(403, 'peer_employee_id: the employee is disabled')
    return { kind: 'private', employee_ids: [me, peer], uploader: me }
  }
  if (input.conversation_type === 'group') {
    const groupId = input.group_id!
    const row = await membershipOf(sql, groupId, me)
    if (!row || row.dismissed || !row.member) refuseNonMember(row)
    return { kind: 'group', group_id: groupId, uploader: me }
  }
  return { kind: 'own', owner: me }
}

/**
 * Seed 002 §3.16: a presigned PUT for one new object. Type and length are signed headers, so the
 * store itself refuses a body of another type or size; the random file id means no upload can
 * replace someone else's object. The limits are checked before the database is asked.
 */
export default defineHandler({
  action: 'file.upload_url',
  async handle({ input, caller, env, sql, now }) {
    const storage = storageOf(env)
    if (!contentTypeAllowed(storage, input.content_type))
      fail(400, `content_type: ${input.content_type} is not accepted here`)
    if (input.size > storage.maxUploadBytes) fail(400, `size: larger than the limit of ${storage.maxUploadBytes} bytes`)
    const seconds = lifetime(storage, input.expires_in)
    const key = objectKey(await scopeOf(input, caller, sql), newId('f'), keySafeFileName(input.file_name))
    const signedAt = signingTime(now)
    return {
      data: {
        url: await presignPut(storage, key, input.content_type, input.size, signedAt, seconds),
        method: 'PUT' as const,
        headers: { 'Content-Type': input.content_type },
        key,
        object_url: objectUrl(storage, key),
        expires_at: expiresAt(signedAt, seconds),
      },
    }
  },
})
