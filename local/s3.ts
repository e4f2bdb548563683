import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import type { Bindings } from '../workers/env.ts'
import { listen } from './ports.ts'

export interface LocalS3 {
  /** What clients and the workers use: http://{publicHost}:{port}. */
  endpoint: string
  bucket: string
  /** Where the objects are. */
  directory: string
  /** The workers' storage bindings for this server. */
  bindings: Required<
    Pick<Bindings, 'S3_ENDPOINT' | 'S3_BUCKET' | 'S3_REGION' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY'>
  >
  close(): Promise<void>
}

export const LOCAL_S3_BUCKET = 'mchat-files'

// s3rver admits only its built-in key pair; it checks neither signatures nor signed headers, so
// locally the signing is proven by comparison with the AWS SDK (workers/lib/sigv4.test.ts).
const S3RVER_KEY = 'S3RVER'

// Any origin may PUT, POST and GET, so a browser client served from anywhere can use the URLs.
const CORS = `<CORSConfiguration><CORSRule>
  <AllowedOrigin>*</AllowedOrigin>
  <AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>
  <AllowedHeader>*</AllowedHeader>
  <ExposeHeader>ETag</ExposeHeader>
  <MaxAgeSeconds>3000</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`

/**
 * An S3-compatible server (s3rver) with one bucket, for `npm start` and the tests. Objects live
 * in `directory`, or in a temporary directory removed on close.
 */
export async function startLocalS3(
  o: { host?: string; publicHost?: string; port?: number; directory?: string; bucket?: string } = {},
): Promise<LocalS3> {
  const host = o.host ?? '127.0.0.1'
  const bucket = o.bucket ?? LOCAL_S3_BUCKET
  const directory = o.directory ?? (await mkdtemp(join(tmpdir(), 'mchat-s3-')))
  await mkdir(directory, { recursive: true })
  const s3 = new S3rver({
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket, configs: [CORS] }],
  })
  await s3.configureBuckets()
  const server = createServer(s3.callback())
  let port: number
  try {
    port = await listen(server, o.port ?? 0, host, 'S3 (s3rver)')
  } catch (err) {
    if (!o.directory) await rm(directory, { recursive: true, force: true })
    throw err
  }
  const publicHost = o.publicHost ?? host
  const endpoint = `http://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`
  return {
    endpoint,
    bucket,
    directory,
    bindings: {
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: S3RVER_KEY,
      S3_SECRET_ACCESS_KEY: S3RVER_KEY,
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (!o.directory) await rm(directory, { recursive: true, force: true })
    },
  }
}
