import { S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll } from 'vitest'
import { startLocalS3, type LocalS3 } from '../../local/s3.ts'
import type { Bindings } from '../../workers/env.ts'
import type { Suite } from './worker-suite.ts'

/**
 * A local S3-compatible server for a worker test file, its bindings added to the suite's (after
 * workerSuite's own setup, which is registered first). `extra` sets limits for the file's tests.
 */
export function withLocalS3(s: Suite, extra: Partial<Bindings> = {}): { s3: LocalS3 } {
  const holder = {} as { s3: LocalS3 }
  beforeAll(async () => {
    holder.s3 = await startLocalS3()
    Object.assign(s.h.env, holder.s3.bindings, extra)
  })
  afterAll(async () => {
    await holder.s3?.close()
  })
  return holder
}

/** The AWS SDK pointed at the same store with the same credentials: the reference the URLs are held to. */
export function referenceClient(env: Bindings): S3Client {
  return new S3Client({
    endpoint: env.S3_ENDPOINT!,
    region: env.S3_REGION!,
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

/** `20250203T100000Z` → the instant. */
export const amzDate = (d: string) =>
  new Date(
    `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
  )

/** The signing time and lifetime a presigned URL carries. */
export function signedAt(url: string): { date: Date; expiresIn: number } {
  const q = new URL(url).searchParams
  return { date: amzDate(q.get('X-Amz-Date')!), expiresIn: Number(q.get('X-Amz-Expires')) }
}

/** Uploads through a presigned POST form, as a browser would. */
export async function postForm(
  upload: { url: string; fields: Record<string, string> },
  key: string,
  body: Uint8Array,
  fileName = 'blob',
): Promise<Response> {
  const form = new FormData()
  for (const [k, v] of Object.entries(upload.fields)) form.append(k, k === 'key' ? key : v)
  form.append('file', new Blob([body as Uint8Array<ArrayBuffer>]), fileName)
  return fetch(upload.url, { method: 'POST', body: form })
}
