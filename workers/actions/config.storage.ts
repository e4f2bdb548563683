import { ownKeyPrefix } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { expiresAt, lifetime, objectUrl, presignPrefixPost, signingTime, storageOf } from '../lib/storage.ts'

/**
 * Seed 002 §3.14: the store's coordinates and a POST policy for the caller's own prefix. The
 * secret key never leaves the workers; what leaves is a signature that expires.
 */
export default defineHandler({
  action: 'config.storage',
  async handle({ input, caller, env, now }) {
    const storage = storageOf(env)
    const seconds = lifetime(storage, input.expires_in)
    const signedAt = signingTime(now)
    const keyPrefix = ownKeyPrefix(caller.employee_id)
    const upload = await presignPrefixPost(storage, keyPrefix, signedAt, seconds)
    return {
      data: {
        endpoint: storage.endpoint,
        bucket: storage.bucket,
        region: storage.region,
        key_prefix: keyPrefix,
        url_prefix: objectUrl(storage, keyPrefix),
        upload,
        max_size: storage.maxUploadBytes,
        expires_at: expiresAt(signedAt, seconds),
      },
    }
  },
})
