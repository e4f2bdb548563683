import type { Bindings } from '../env.ts'
import type { Sql } from './db.ts'
import { SIGV4_MAX_EXPIRES_SECONDS } from '../../schema/index.ts'
import { fail } from './errors.ts'
import { escapeKey, presignPost, presignUrl, type Credentials } from './sigv4.ts'

/**
 * Content types file.upload_url accepts unless S3_UPLOAD_CONTENT_TYPES says otherwise. Nothing a
 * browser would run when it opens the download (text/html, image/svg+xml, JavaScript): the store
 * serves the object with the type it was uploaded with.
 */
export const DEFAULT_CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/heic',
  'image/avif',
  'audio/mpeg',
  'audio/mp4',
  'audio/ogg',
  'video/mp4',
  'video/webm',
  'text/plain',
  'text/csv',
  'application/pdf',
  'application/zip',
  'application/octet-stream',
  'application/msword',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
] as const

export const STORAGE_DEFAULTS = {
  region: 'us-east-1',
  ttlSeconds: 300,
  maxTtlSeconds: 3600,
  maxUploadBytes: 50 * 1024 * 1024,
} as const

/** The object store as the bindings describe it, checked. */
export interface Storage {
  /** What clients are told: the endpoint as configured, without a trailing slash. */
  endpoint: string
  /** `{endpoint}/{bucket}`: path-style addressing, which every S3-compatible store serves. */
  bucketUrl: URL
  bucket: string
  region: string
  credentials: Credentials
  ttl: number
  maxTtl: number
  maxUploadBytes: number
  contentTypes: readonly string[]
}

const REQUIRED = ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const MIME_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/

// A setting that does not parse must not quietly become a default: a looser limit than the
// operator meant is worse than a 503 that names the binding.
function misconfigured(what: string): never {
  console.error(JSON.stringify({ event: 'storage_misconfigured', error: what }))
  fail(503, `object storage is misconfigured: ${what}`)
}

function positiveInt(env: Bindings, name: keyof Bindings, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > max) misconfigured(`${name} must be a whole number from 1 to ${max}`)
  return n
}

/** 503 when storage is not configured (or not usably), so clients can tell it from their own mistakes. */
export function storageOf(env: Bindings): Storage {
  const missing = REQUIRED.filter((k) => !env[k])
  if (missing.length > 0) fail(503, `object storage is not configured (${missing.join(', ')} unset)`)
  let endpoint: URL
  try {
    endpoint = new URL(env.S3_ENDPOINT!)
  } catch {
    misconfigured('S3_ENDPOINT is not a URL')
  }
  if (
    (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') ||
    endpoint.search ||
    endpoint.hash ||
    endpoint.username ||
    endpoint.password
  ) {
    misconfigured('S3_ENDPOINT must be a plain http(s) URL')
  }
  const bucket = env.S3_BUCKET!
  if (!BUCKET.test(bucket)) misconfigured('S3_BUCKET is not a bucket name')
  const base = `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}`
  const maxTtl = positiveInt(env, 'S3_URL_MAX_TTL_SECONDS', STORAGE_DEFAULTS.maxTtlSeconds, SIGV4_MAX_EXPIRES_SECONDS)
  const ttl = positiveInt(env, 'S3_URL_TTL_SECONDS', Math.min(STORAGE_DEFAULTS.ttlSeconds, maxTtl), maxTtl)
  const types = env.S3_UPLOAD_CONTENT_TYPES
    ? env.S3_UPLOAD_CONTENT_TYPES.split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean)
    : DEFAULT_CONTENT_TYPES
  const bad = types.find((t) => !MIME_PATTERN.test(t))
  if (bad !== undefined) misconfigured(`S3_UPLOAD_CONTENT_TYPES: "${bad}" is not type/subtype or type/*`)
  return {
    endpoint: base,
    bucketUrl: new URL(`${base}/${bucket}`),
    bucket,
    region: env.S3_REGION || STORAGE_DEFAULTS.region,
    credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
    ttl,
    maxTtl,
    maxUploadBytes: positiveInt(env, 'S3_UPLOAD_MAX_BYTES', STORAGE_DEFAULTS.maxUploadBytes),
    contentTypes: types,
  }
}

/** The lifetime asked for, or the default; more than the deployment's maximum is refused. */
export function lifetime(s: Storage, requested: number | undefined): number {
  if (requested !== undefined && requested > s.maxTtl) fail(400, `expires_in: at most ${s.maxTtl} seconds`)
  return requested ?? s.ttl
}

export function contentTypeAllowed(s: Storage, type: string): boolean {
  return s.contentTypes.some((p) => p === type || (p.endsWith('/*') && type.startsWith(p.slice(0, -1))))
}

/** Signatures cover whole seconds; expires_at must be the instant the store stops accepting. */
export function signingTime(now: Date): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000)
}

export const expiresAt = (signedAt: Date, seconds: number) =>
  new Date(signedAt.getTime() + seconds * 1000).toISOString()

/** The object's unsigned URL: stable, so a message can carry it; reading it needs a signature. */
export const objectUrl = (s: Storage, key: string) => `${s.bucketUrl.href}/${escapeKey(key)}`

/** The key an object URL of this store names (its query, e.g. an old signature, ignored), or null. */
export function keyOfObjectUrl(s: Storage, url: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  const prefix = `${s.bucketUrl.pathname}/`
  if (u.origin !== s.bucketUrl.origin || !u.pathname.startsWith(prefix)) return null
  try {
    return u.pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/')
  } catch {
    return null
  }
}

const scope = (s: Storage, date: Date, expiresIn: number) => ({
  region: s.region,
  credentials: s.credentials,
  date,
  expiresIn,
})

// `x-id` names the operation as the AWS SDKs do. Stores ignore it; keeping it makes every URL
// byte-identical to the SDK's for the same inputs, which is how the signing is tested.

/** A PUT of exactly `size` bytes of `contentType` to `key`: the store rejects any other type or length. */
export function presignPut(
  s: Storage,
  key: string,
  contentType: string,
  size: number,
  date: Date,
  expiresIn: number,
): Promise<string> {
  return presignUrl({
    ...scope(s, date, expiresIn),
    method: 'PUT',
    url: new URL(objectUrl(s, key)),
    headers: { 'content-type': contentType, 'content-length': String(size) },
    query: { 'x-id': 'PutObject' },
  })
}

export function presignGet(s: Storage, key: string, date: Date, expiresIn: number): Promise<string> {
  return presignUrl({
    ...scope(s, date, expiresIn),
    method: 'GET',
    url: new URL(objectUrl(s, key)),
    query: { 'x-id': 'GetObject' },
  })
}

/** A POST form that writes any key under `keyPrefix`, up to the upload limit. */
export function presignPrefixPost(s: Storage, keyPrefix: string, date: Date, expiresIn: number) {
  return presignPost({
    ...scope(s, date, expiresIn),
    url: s.bucketUrl.href,
    bucket: s.bucket,
    keyPrefix,
    conditions: [['content-length-range', 0, s.maxUploadBytes]],
  })
}

/** One read: whether the group exists, whether it was dismissed, whether `employeeId` is in it. */
export async function membershipOf(
  sql: Sql,
  groupId: string,
  employeeId: string,
): Promise<{ dismissed: boolean; member: boolean } | null> {
  const rows = (await sql.query(
    `SELECT g.dismissed_at IS NOT NULL AS dismissed,
            EXISTS (SELECT 1 FROM group_member m WHERE m.group_id = g.group_id AND m.employee_id = $2) AS member
       FROM chat_group g WHERE g.group_id = $1`,
    [groupId, employeeId],
  )) as Array<{ dismissed: boolean; member: boolean }>
  return rows[0] ?? null
}
