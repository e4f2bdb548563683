/**
 * AWS Signature V4 for S3 presigned URLs and POST policies, on Web Crypto only (Workers, Deno,
 * Node). aws4fetch cannot do this: it never signs content-type or content-length, which is what
 * binds an upload URL to the declared type and size. The output is byte-identical to the AWS SDK
 * for JavaScript's presigners for the same inputs (sigv4.test.ts holds it to that), so anything
 * an S3-compatible store accepts from the SDK it accepts from here.
 */

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
}

export interface SigningScope {
  region: string
  credentials: Credentials
  /** The signing time; only whole seconds are signed. */
  date: Date
  /** Seconds the signature stays valid. */
  expiresIn: number
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
const SERVICE = 's3'
const encoder = new TextEncoder()

/** RFC 3986 percent-encoding as S3 expects it (encodeURIComponent leaves !'()* alone). */
export const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** An object key as a URL path: each segment encoded, the slashes kept. */
export const escapeKey = (key: string) => key.split('/').map(escapeUri).join('/')

function hex(buf: ArrayBuffer): string {
  let out = ''
  for (const b of new Uint8Array(buf)) out += b.toString(16).padStart(2, '0')
  return out
}

async function hmac(key: ArrayBuffer | Uint8Array<ArrayBuffer>, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return crypto.subtle.sign('HMAC', k, encoder.encode(data))
}

const sha256Hex = async (data: string) => hex(await crypto.subtle.digest('SHA-256', encoder.encode(data)))

function amzDate(date: Date): { long: string; short: string } {
  const long = date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
  return { long, short: long.slice(0, 8) }
}

async function signingKey(c: Credentials, shortDate: string, region: string): Promise<ArrayBuffer> {
  let key = await hmac(encoder.encode(`AWS4${c.secretAccessKey}`), shortDate)
  for (const part of [region, SERVICE, 'aws4_request']) key = await hmac(key, part)
  return key
}

const sortedQuery = (query: Record<string, string>) =>
  Object.keys(query)
    .sort()
    .map((k) => `${escapeUri(k)}=${escapeUri(query[k]!)}`)
    .join('&')

export interface PresignRequest extends SigningScope {
  method: 'GET' | 'PUT'
  /** Origin and already-escaped path; any query of its own is ignored. */
  url: URL
  /** Headers the client must send exactly so, signed along with host. */
  headers?: Record<string, string>
  /** Query parameters signed along (the SDK's `x-id` operation name). */
  query?: Record<string, string>
}

/** A presigned URL: the payload is left unsigned, as for any presigned S3 request. */
export async function presignUrl(r: PresignRequest): Promise<string> {
  const { long, short } = amzDate(r.date)
  const scope = `${short}/${r.region}/${SERVICE}/aws4_request`
  const headers: Record<string, string> = { host: r.url.host }
  for (const [name, value] of Object.entries(r.headers ?? {}))
    headers[name.toLowerCase()] = value
      .replace(/[\r\n]/g, ' ')
      .replace(/[ \t]+/g, ' ')
      .replace(/^ | $/g, '')
  const signed = Object.keys(headers).sort()
  const query: Record<string, string> = {
    ...r.query,
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Content-Sha256': UNSIGNED_PAYLOAD,
    'X-Amz-Credential': `${r.credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': long,
    'X-Amz-Expires': String(r.expiresIn),
    'X-Amz-SignedHeaders': signed.join(';'),
  }
  // S3 signs the path as sent (no second encoding, no dot-segment normalisation).
  const canonical = [
    r.method,
    r.url.pathname,
    sortedQuery(query),
    ...signed.map((h) => `${h}:${headers[h]}`),
    '',
    signed.join(';'),
    UNSIGNED_PAYLOAD,
  ].join('\n')
  const toSign = [ALGORITHM, long, scope, await sha256Hex(canonical)].join('\n')
  query['X-Amz-Signature'] = hex(await hmac(await signingKey(r.credentials, short, r.region), toSign))
  return `${r.url.origin}${r.url.pathname}?${sortedQuery(query)}`
}

export interface PostPolicyRequest extends SigningScope {
  /** The bucket's URL (path style: endpoint/bucket). */
  url: string
  bucket: string
  /** Keys the form may write must start with this. */
  keyPrefix: string
  /** Extra policy conditions, before the ones every policy has. */
  conditions?: unknown[]
}

/**
 * A browser-based POST upload policy (S3 "POST Object"): the form sends `fields` and then the
 * file; the store checks the signed policy's conditions. Laid out exactly as the SDK's
 * createPresignedPost lays it out.
 */
export async function presignPost(r: PostPolicyRequest): Promise<{ url: string; fields: Record<string, string> }> {
  const { long, short } = amzDate(r.date)
  const fields: Record<string, string> = {
    bucket: r.bucket,
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${r.credentials.accessKeyId}/${short}/${r.region}/${SERVICE}/aws4_request`,
    'X-Amz-Date': long,
  }
  const expiration = new Date(Math.floor(r.date.getTime() / 1000) * 1000 + r.expiresIn * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
  const conditions = [
    ...(r.conditions ?? []),
    ...Object.entries(fields).map(([k, v]) => ({ [k]: v })),
    ['starts-with', '$key', r.keyPrefix],
  ]
  let binary = ''
  for (const b of encoder.encode(JSON.stringify({ expiration, conditions }))) binary += String.fromCharCode(b)
  const policy = btoa(binary)
  const signature = hex(await hmac(await signingKey(r.credentials, short, r.region), policy))
  return {
    url: r.url,
    fields: { ...fields, key: `${r.keyPrefix}\${filename}`, Policy: policy, 'X-Amz-Signature': signature },
  }
}
