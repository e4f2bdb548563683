import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Bindings } from '../env.ts'
import { presignGet, presignPrefixPost, presignPut, storageOf } from './storage.ts'

/**
 * The workers' presigner against the official AWS SDK for JavaScript: for the same key, time,
 * expiry, region and credentials, every URL and POST policy must be the same string, byte for
 * byte. The SDK is a test dependency only.
 */

interface Setup {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
}

const setups: Setup[] = [
  { endpoint: 'http://127.0.0.1:4568', region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  {
    endpoint: 'https://s3.cn-hangzhou.example.com',
    region: 'cn-hangzhou',
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  },
  {
    endpoint: 'https://storage.example.com/s3/',
    region: 'auto',
    accessKeyId: 'key/with+odd=chars',
    secretAccessKey: 'sec ret/+=',
  },
  { endpoint: 'http://[::1]:9000', region: 'eu-west-3', accessKeyId: 'minio', secretAccessKey: 'minio123' },
]

const keys = [
  'u/emp_a/f_0123456789abcdef01234567/photo.png',
  'g/grp_x/emp_a/f_1/报告 (最终版)!.pdf',
  "p/emp_a~emp_b/emp_b/f_2/it's *quoted* ~ & = + ? # %.txt",
  'u/emp_a/f_3/emoji 🎉 and ümlaut.jpeg',
]

const times = [new Date('2025-02-03T10:00:00Z'), new Date('2031-12-31T23:59:59.999Z')]
const expiries = [1, 300, 604_800]

const bucket = 'mchat-files'

function sdkClient(s: Setup): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    // Otherwise the SDK adds a checksum of the (absent) body to a presigned PUT.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

function storageFor(s: Setup) {
  const env = {
    S3_ENDPOINT: s.endpoint,
    S3_BUCKET: bucket,
    S3_REGION: s.region,
    S3_ACCESS_KEY_ID: s.accessKeyId,
    S3_SECRET_ACCESS_KEY: s.secretAccessKey,
  } as Bindings
  return storageOf(env)
}

afterEach(() => {
  vi.useRealTimers()
})

describe('presigned URLs equal the AWS SDK’s', () => {
  it('PUT bound to content type and length, for every endpoint, key, time and expiry', async () => {
    let compared = 0
    for (const s of setups) {
      const client = sdkClient(s)
      const storage = storageFor(s)
      for (const key of keys) {
        for (const date of times) {
          for (const expiresIn of expiries) {
            const sdk = await getSignedUrl(
              client,
              new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'application/pdf', ContentLength: 102400 }),
              {
                expiresIn,
                signingDate: date,
                signableHeaders: new Set(['content-type', 'content-length']),
              },
            )
            expect(await presignPut(storage, key, 'application/pdf', 102400, date, expiresIn)).toBe(sdk)
            compared++
          }
        }
      }
    }
    expect(compared).toBe(setups.length * keys.length * times.length * expiries.length)
  })

  it('signs the type and the length: changing either changes the signature', async () => {
    const storage = storageFor(setups[0]!)
    const date = times[0]!
    const base = await presignPut(storage, keys[0]!, 'image/png', 10, date, 300)
    expect(new URL(base).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host')
    const sig = (u: string) => new URL(u).searchParams.get('X-Amz-Signature')
    expect(sig(await presignPut(storage, keys[0]!, 'image/jpeg', 10, date, 300))).not.toBe(sig(base))
    expect(sig(await presignPut(storage, keys[0]!, 'image/png', 11, date, 300))).not.toBe(sig(base))
  })

  it('GET, for every endpoint, key, time and expiry', async () => {
    for (const s of setups) {
      const client = sdkClient(s)
      const storage = storageFor(s)
      for (const key of keys) {
        for (const date of times) {
          for (const expiresIn of expiries) {
            const sdk = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
              expiresIn,
              signingDate: date,
            })
            expect(await presignGet(storage, key, date, expiresIn)).toBe(sdk)
          }
        }
      }
    }
  })
})

describe('POST policies equal the AWS SDK’s createPresignedPost', () => {
  it('same url, same fields in the same order, same base64 policy and signature', async () => {
    for (const s of setups) {
      const client = sdkClient(s)
      const storage = storageFor(s)
      for (const date of times) {
        for (const expiresIn of expiries) {
          const prefix = 'u/emp_zhangsan_001/'
          // The SDK reads the clock; only Date is faked, so its promises still run.
          vi.useFakeTimers({ toFake: ['Date'] })
          vi.setSystemTime(date)
          const sdk = await createPresignedPost(client, {
            Bucket: bucket,
            Key: `${prefix}\${filename}`,
            Conditions: [['content-length-range', 0, storage.maxUploadBytes]],
            Expires: expiresIn,
          })
          vi.useRealTimers()
          const ours = await presignPrefixPost(storage, prefix, date, expiresIn)
          expect(JSON.stringify(ours)).toBe(JSON.stringify(sdk))
        }
      }
    }
  })

  it('the policy admits only the prefix and the size limit, and expires when it says', async () => {
    const s = setups[1]!
    const storage = storageFor(s)
    const post = await presignPrefixPost(storage, 'u/emp_a/', times[0]!, 300)
    const policy = JSON.parse(atob(post.fields.Policy!))
    expect(policy.expiration).toBe('2025-02-03T10:05:00Z')
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['starts-with', '$key', 'u/emp_a/'],
        ['content-length-range', 0, storage.maxUploadBytes],
        { bucket },
      ]),
    )
    expect(JSON.stringify(post)).not.toContain(s.secretAccessKey)
  })
})
