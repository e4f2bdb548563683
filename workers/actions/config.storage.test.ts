import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { describe, expect, it, vi } from 'vitest'
import { configStorage } from '../../schema/index.ts'
import { amzDate, postForm, referenceClient, withLocalS3 } from '../../test/support/files.ts'
import { callAction, createAndBind, readAnswer } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()
const local = withLocalS3(s, { S3_UPLOAD_MAX_BYTES: '1024', S3_URL_MAX_TTL_SECONDS: '900' })

describe('config.storage', () => {
  it('gives the store’s coordinates and a POST policy for the caller’s own prefix only, never the secret key', async () => {
    const me = await createAndBind(app, s.h, s.admin, { name: 'Storer', employee_id: 'cs_me' })
    const a = await callAction(app, s.h, 'config.storage', me.clientId)
    expect(a.reply.code, a.reply.message).toBe(0)
    const d = configStorage.reply.parse(a.reply.data)
    expect(d).toMatchObject({
      endpoint: local.s3.endpoint,
      bucket: 'mchat-files',
      region: 'us-east-1',
      key_prefix: 'u/cs_me/',
      url_prefix: `${local.s3.endpoint}/mchat-files/u/cs_me/`,
      max_size: 1024,
    })
    expect(d.upload.url).toBe(`${local.s3.endpoint}/mchat-files`)
    const policy = JSON.parse(atob(d.upload.fields.Policy!))
    expect(policy.conditions).toContainEqual(['starts-with', '$key', 'u/cs_me/'])
    expect(policy.conditions).toContainEqual(['content-length-range', 0, 1024])
    // The default lifetime, from the signing time the policy carries.
    const signed = amzDate(d.upload.fields['X-Amz-Date']!).getTime()
    expect(Date.parse(d.expires_at) - signed).toBe(300_000)
    expect(policy.expiration).toBe(d.expires_at.replace('.000Z', 'Z'))
    expect(JSON.stringify(a.reply)).not.toContain(`"${s.h.env.S3_SECRET_ACCESS_KEY}"`)
    expect(Object.keys(d)).not.toContain('secret_key')

    // Byte for byte what the AWS SDK makes for the same prefix, time, expiry and credentials.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(signed)
    const sdk = await createPresignedPost(referenceClient(s.h.env), {
      Bucket: 'mchat-files',
      Key: 'u/cs_me/${filename}',
      Conditions: [['content-length-range', 0, 1024]],
      Expires: 300,
    })
    vi.useRealTimers()
    expect(JSON.stringify(d.upload)).toBe(JSON.stringify(sdk))
  })

  it('the form uploads under the prefix (the local store does not check policies; a real one refuses other keys)', async () => {
    const me = await createAndBind(app, s.h, s.admin, { name: 'Poster', employee_id: 'cs_post' })
    const d = configStorage.reply.parse((await callAction(app, s.h, 'config.storage', me.clientId)).reply.data)
    const body = new TextEncoder().encode('draft')
    const res = await postForm(d.upload, `${d.key_prefix}notes/draft.txt`, body)
    expect(res.status).toBe(204)
    const got = await callAction(app, s.h, 'file.download_url', me.clientId, { key: `${d.key_prefix}notes/draft.txt` })
    expect(got.reply.code).toBe(0)
    expect(await (await fetch(got.reply.data.url)).text()).toBe('draft')
  })

  it('asks for a lifetime up to the maximum; beyond it is refused by the worker', async () => {
    const ok = await callAction(app, s.h, 'config.storage', s.admin, { expires_in: 900 })
    expect(ok.reply.code).toBe(0)
    const { upload, expires_at } = configStorage.reply.parse(ok.reply.data)
    expect(Date.parse(expires_at) - amzDate(upload.fields['X-Amz-Date']!).getTime()).toBe(900_000)
    expect(Date.parse(JSON.parse(atob(upload.fields.Policy!)).expiration)).toBe(Date.parse(expires_at))
    const over = await callAction(app, s.h, 'config.storage', s.admin, { expires_in: 901 })
    expect([over.reply.code, over.reply.message, over.reply.data]).toEqual([
      400,
      'expires_in: at most 900 seconds',
      null,
    ])
    expect((await callAction(app, s.h, 'config.storage', s.admin, { expires_in: 0 })).reply.code).toBe(400)
  })

  it('503 when the deployment has no object storage; 401 before binding', async () => {
    const { S3_ENDPOINT: _e, S3_BUCKET: _b, S3_ACCESS_KEY_ID: _k, S3_SECRET_ACCESS_KEY: _s, ...bare } = s.h.env
    const a = await readAnswer(
      await app.request(await s.h.request('config.storage', s.admin, 'cs-503', {}), undefined, bare),
    )
    expect([a.status, a.reply.code]).toEqual([503, 503])
    expect(a.reply.message).toMatch(/^object storage is not configured/)
    expect((await callAction(app, s.h, 'config.storage', 'cs_nobody.dev')).reply.code).toBe(401)
  })
})
