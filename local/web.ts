import { randomBytes } from 'node:crypto'
import { readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { listen } from './ports.ts'

const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url))
const DIST = join(WEB_DIR, 'dist')
// What the bundle is made of: the app, and the SDK and contracts it imports.
const SOURCES = [
  join(WEB_DIR, 'src'),
  join(WEB_DIR, 'index.html'),
  join(WEB_DIR, 'vite.config.ts'),
  fileURLToPath(new URL('../sdk/', import.meta.url)),
  fileURLToPath(new URL('../schema/', import.meta.url)),
]

export interface WebServerOptions {
  host: string
  /** 0 = ephemeral */
  port: number
  /** The broker's MQTT-over-WebSocket URL the sign-in screen offers; null when there is none. */
  brokerUrl: string | null
  /** Host printed in the URL when `host` is a wildcard address. */
  publicHost?: string
  info?: (msg: string) => void
}

export interface WebServer {
  url: string
  port: number
  close(): Promise<void>
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

async function newest(path: string): Promise<number> {
  const s = await stat(path).catch(() => null)
  if (!s) return 0
  if (!s.isDirectory()) return s.mtimeMs
  let max = s.mtimeMs
  for (const entry of await readdir(path)) {
    if (entry === 'node_modules' || entry.endsWith('.test.ts')) continue
    max = Math.max(max, await newest(join(path, entry)))
  }
  return max
}

/** True when web/dist is missing or older than anything it is built from. */
export async function webBuildStale(): Promise<boolean> {
  const built = await stat(join(DIST, 'index.html')).catch(() => null)
  if (!built) return true
  const sources = Math.max(...(await Promise.all(SOURCES.map(newest))))
  return sources > built.mtimeMs
}

/**
 * Builds web/ with Vite's JS API when web/dist is stale. The build goes to a scratch folder and
 * is swapped in, so two processes starting at once never serve a half-written dist.
 */
export async function ensureWebBuild(info: (msg: string) => void = () => {}): Promise<string> {
  if (!(await webBuildStale())) return DIST
  info('web: building the admin console (vite build)')
  const { build } = await import('vite')
  const scratch = join(WEB_DIR, `.dist-${process.pid}-${randomBytes(4).toString('hex')}`)
  // Vite and the React plugin take NODE_ENV from the calling process when it is set (vitest sets
  // "test"): the bundle would carry development JSX. The build is what a CDN gets: production.
  const nodeEnv = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    await build({
      configFile: join(WEB_DIR, 'vite.config.ts'),
      logLevel: 'warn',
      mode: 'production',
      build: { outDir: scratch, emptyOutDir: true },
    })
    await rm(DIST, { recursive: true, force: true })
    await rename(scratch, DIST).catch(async (err: NodeJS.ErrnoException) => {
      // Another process swapped its build in first: theirs is as good as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
    })
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = nodeEnv
    await rm(scratch, { recursive: true, force: true })
  }
  return DIST
}

/** Serves web/dist (building it first when stale), an SPA fallback, and /config.json. */
export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const info = o.info ?? (() => {})
  const config = JSON.stringify({ brokerUrl: o.brokerUrl })
  const root = resolve(DIST)
  const server = http.createServer((req, res) => {
    void respond(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('internal error\n')
    })
  })

  async function respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const send = (status: number, type: string, body: Buffer | string, cache: string) => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': cache,
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(body),
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (path === '/config.json') return send(200, TYPES['.json']!, config, 'no-store')
    const file = normalize(join(root, path))
    if (file !== root && !file.startsWith(root + sep)) return send(404, TYPES['.txt']!, 'not found\n', 'no-store')
    const body = await readFile(file).catch(() => null)
    if (body) {
      // Vite names assets by their content hash: those never change; index.html always may.
      const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
      return send(200, TYPES[extname(file)] ?? 'application/octet-stream', body, cache)
    }
    // A path with an extension is a missing file; anything else is a client-side route.
    if (extname(path)) return send(404, TYPES['.txt']!, 'not found\n', 'no-store')
    return send(200, TYPES['.html']!, await readFile(join(root, 'index.html')), 'no-cache')
  }

  // Listen before building: a taken port is reported at once, not after a build.
  const port = await listen(server, o.port, o.host, 'admin web')
  try {
    await ensureWebBuild(info)
  } catch (err) {
    await new Promise<void>((r) => server.close(() => r()))
    throw new Error(`admin web: build failed: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
  const host = o.host === '0.0.0.0' || o.host === '::' ? (o.publicHost ?? 'localhost') : o.host
  let closed: Promise<void> | null = null
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () =>
      (closed ??= new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      })),
  }
}
