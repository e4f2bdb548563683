import { describe, expect, it, vi } from 'vitest'
import type { Bindings } from '../env.ts'
import { errorReply } from './errors.ts'
import { contentTypeAllowed, keyOfObjectUrl, lifetime, objectUrl, storageOf } from './storage.ts'

const configured = {
  S3_ENDPOINT: 'https://s3.example.com/base/',
  S3_BUCKET: 'mchat-files',
  S3_ACCESS_KEY_ID: 'AK',
  S3_SECRET_ACCESS_KEY: 'SK',
} as Bindings

function refusal(run: () => unknown): { code: number; message: string } {
  try {
    run()
  } catch (err) {
    return errorReply(err)
  }
  throw new Error('did not refuse')
}

describe('storage configuration', () => {
  it('unset: 503 naming what is missing', () => {
    expect(refusal(() => storageOf({} as Bindings))).toEqual({
      code: 503,
      message:
        'object storage is not configured (S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY unset)',
      data: null,
    })
  })

  it('a limit that does not parse is a 503, never a silent default', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    for (const [name, value] of [
      ['S3_UPLOAD_MAX_BYTES', '10MB'],
      ['S3_URL_MAX_TTL_SECONDS', '700000'],
      ['S3_URL_TTL_SECONDS', '0'],
      ['S3_ENDPOINT', 'not a url'],
      ['S3_ENDPOINT', 'ftp://s3.example.com'],
      ['S3_BUCKET', 'Bad_Bucket'],
      ['S3_UPLOAD_CONTENT_TYPES', 'image/png,text html'],
    ] as const) {
      const r = refusal(() => storageOf({ ...configured, [name]: value }))
      expect(r.code, `${name}=${value}`).toBe(503)
      expect(r.message).toMatch(/^object storage is misconfigured: /)
    }
    // A default TTL above an explicitly lower maximum cannot stand either.
    expect(
      refusal(() => storageOf({ ...configured, S3_URL_MAX_TTL_SECONDS: '60', S3_URL_TTL_SECONDS: '120' })).code,
    ).toBe(503)
    log.mockRestore()
  })

  it('defaults: 300 s, at most 3600 s, 50 MiB, us-east-1; the default lifetime never exceeds a lower maximum', () => {
    const s = storageOf(configured)
    expect([s.ttl, s.maxTtl, s.maxUploadBytes, s.region, s.endpoint]).toEqual([
      300,
      3600,
      52428800,
      'us-east-1',
      'https://s3.example.com/base',
    ])
    expect(storageOf({ ...configured, S3_URL_MAX_TTL_SECONDS: '60' }).ttl).toBe(60)
  })

  it('expires_in: up to the maximum, refused beyond it', () => {
    const s = storageOf({ ...configured, S3_URL_MAX_TTL_SECONDS: '600' })
    expect(lifetime(s, undefined)).toBe(300)
    expect(lifetime(s, 600)).toBe(600)
    expect(refusal(() => lifetime(s, 601))).toMatchObject({ code: 400, message: 'expires_in: at most 600 seconds' })
  })

  it('content types: exact entries and type/* wildcards', () => {
    const s = storageOf({ ...configured, S3_UPLOAD_CONTENT_TYPES: 'image/*, Application/PDF' })
    expect(['image/png', 'image/svg+xml', 'application/pdf'].map((t) => contentTypeAllowed(s, t))).toEqual([
      true,
      true,
      true,
    ])
    expect(['imagex/png', 'application/pdfx', 'text/html'].map((t) => contentTypeAllowed(s, t))).toEqual([
      false,
      false,
      false,
    ])
    const d = storageOf(configured)
    expect(
      ['image/png', 'application/pdf', 'text/html', 'image/svg+xml', 'application/javascript'].map((t) =>
        contentTypeAllowed(d, t),
      ),
    ).toEqual([true, true, false, false, false])
  })

  it('an object URL names its key, and only this store’s URLs name one', () => {
    const s = storageOf(configured)
    const key = 'g/grp_1/emp_a/f_1/报告 (1)!.pdf'
    const url = objectUrl(s, key)
    expect(url).toBe('https://s3.example.com/base/mchat-files/g/grp_1/emp_a/f_1/%E6%8A%A5%E5%91%8A%20%281%29%21.pdf')
    expect(keyOfObjectUrl(s, url)).toBe(key)
    expect(keyOfObjectUrl(s, `${url}?X-Amz-Signature=old`)).toBe(key)
    for (const other of [
      'https://elsewhere.example.com/base/mchat-files/u/emp_a/f/x',
      'https://s3.example.com/base/other-bucket/u/emp_a/f/x',
      'https://s3.example.com/mchat-files/u/emp_a/f/x',
      'https://s3.example.com/base/mchat-files/u/emp_a/%E0%A4%A',
      'not a url',
    ]) {
      expect(keyOfObjectUrl(s, other), other).toBeNull()
    }
  })
})
