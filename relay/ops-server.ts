import http from 'node:http'
import { listen } from '../local/ports.ts'
import type { RelayMetrics } from './metrics.ts'

export interface OpsServer {
  /** Like `http://127.0.0.1:PORT` (a loopback address when listening on every interface). */
  url: string
  /** Stops listening and resolves once open connections are done. Idempotent. */
  close(): Promise<void>
}

export interface OpsServerOptions {
  /** Default 127.0.0.1; `0.0.0.0` (or `::`) for probes and scrapes from other hosts. */
  host?: string | undefined
  /** Default 0: a free port (see `url`). */
  port?: number
  metrics: RelayMetrics
  /** True while the relay serves requests (subscribed); /healthz answers 503 otherwise. */
  ready: () => boolean
}

/**
 * The relay's operations endpoints, apart from MQTT:
 * - `GET /metrics`: Prometheus exposition text
 * - `GET /healthz`: readiness, 200 only while `ready()` (orchestrators route traffic on it)
 * - `GET /livez`: liveness, 200 as long as the process answers
 */
export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const host = o.host ?? '127.0.0.1'
  const server = http.createServer((req, res) => {
    handle(o, req, res).catch(() => {
      if (!res.headersSent) send(res, req, 500, 'text/plain; charset=utf-8', 'internal error\n')
      else res.destroy()
    })
  })
  const port = await listen(server, o.port ?? 0, host, 'relay ops server')

  let closed: Promise<void> | undefined
  return {
    url: `http://${urlHost(host)}:${port}`,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        // Idle keep-alive connections would hold close() open (Node 20 close() also drops them; explicit anyway).
        server.closeIdleConnections()
      })),
  }
}

async function handle(o: OpsServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0]
  if (path !== '/metrics' && path !== '/healthz' && path !== '/livez') {
    return send(res, req, 404, 'application/json', JSON.stringify({ status: 'not found' }))
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return send(res, req, 405, 'application/json', JSON.stringify({ status: 'method not allowed' }))
  }
  switch (path) {
    case '/metrics':
      return send(res, req, 200, o.metrics.registry.contentType, await o.metrics.text())
    case '/healthz':
      return isReady(o.ready)
        ? send(res, req, 200, 'application/json', JSON.stringify({ status: 'ready' }))
        : send(res, req, 503, 'application/json', JSON.stringify({ status: 'not ready' }))
    case '/livez':
      return send(res, req, 200, 'application/json', JSON.stringify({ status: 'alive' }))
  }
}

function isReady(ready: () => boolean): boolean {
  try {
    return ready() === true
  } catch {
    return false
  }
}

function send(res: http.ServerResponse, req: http.IncomingMessage, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** The host part of a URL reaching `host`: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}
