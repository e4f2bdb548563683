import { parseObjectKey, type ObjectScope } from '../../schema/index.ts'
import type { Caller } from '../env.ts'
import { defineHandler } from '../lib/action.ts'
import type { Sql } from '../lib/db.ts'
import { fail } from '../lib/errors.ts'
import {
  expiresAt,
  keyOfObjectUrl,
  lifetime,
  membershipOf,
  presignGet,
  signingTime,
  storageOf,
} from '../lib/storage.ts'

const NOT_YOURS = 'you may read only your own files and those shared in conversations you belong to'

/**
 * The read proof (docs/actions.md, "Files"): the key names its conversation; one's own uploads
 * and a private chat's two employees need nothing more, a group's files need current membership
 * of the live group, read now, so a removed member loses access with the removal.
 */
async function requireReadable(scope: ObjectScope, caller: Caller, sql: Sql): Promise<void> {
  const me = caller.employee_id
  switch (scope.kind) {
    case 'own':
      if (scope.owner !== me) fail(403, `key: ${NOT_YOURS}`)
      return
    case 'private':
      if (!scope.employee_ids.includes(me)) fail(403, `key: ${NOT_YOURS}`)
      return
    case 'group': {
      if (scope.uploader === me) return
      const row = await membershipOf(sql, scope.group_id, me)
      if (!row) fail(404, 'key: no such group')
      if (row.dismissed) fail(404, 'key: the group was dismissed')
      if (!row.member) fail(403, `key: ${NOT_YOURS}`)
    }
  }
}

/** Seed 002 §3.16: a presigned GET for an object the caller may read. Whether it exists is the store's answer. */
export default defineHandler({
  action: 'file.download_url',
  async handle({ input, caller, env, sql, now }) {
    const storage = storageOf(env)
    const seconds = lifetime(storage, input.expires_in)
    const key = input.key ?? keyOfObjectUrl(storage, input.url!) ?? fail(400, 'url: not an object URL of this store')
    const scope =
      parseObjectKey(key) ?? fail(400, `${input.key !== undefined ? 'key' : 'url'}: not a key MChat hands out`)
    await requireReadable(scope, caller, sql)
    const signedAt = signingTime(now)
    return {
      data: { url: await presignGet(storage, key, signedAt, seconds), key, expires_at: expiresAt(signedAt, seconds) },
    }
  },
})
