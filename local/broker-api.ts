import http from 'node:http'
import type { Aedes, Client } from 'aedes'
import { listen } from './ports.ts'

/**
 * The part of EMQX's v5 REST API the workers use (workers/lib/broker-api.ts), served for the
 * embedded broker: list a user's clients, kick a client, list and drop a topic's subscriptions —
 * including those of persistent sessions that are offline, which would otherwise queue messages
 * their owner may no longer read. HTTP Basic auth with an API key and secret, as EMQX.
 */
export interface BrokerApiServer {
  url: string
  key: string
  secret: string
  close(): Promise<void>
}

interface Internals {
  clients: Record<string, Client & { subscriptions: Record<string, { func: unknown }> }>
  unsubscribe(topic: string, func: unknown, done: (err?: Error) => void): void
  persistence: {
    subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; topic: string; qos: number }>>
    removeSubscriptions(client: { id: string }, topics: string[]): Promise<unknown>
  }
}

export async function startBrokerApi(o: {
  aedes: Aedes
  usernameOf(c: Client): string | undefined
  host: string
  port: number
  key: string
  secret: string
}): Promise<BrokerApiServer> {
  const broker = o.aedes as unknown as Aedes & Internals
  const expected = `Basic ${Buffer.from(`${o.key}:${o.secret}`).toString('base64')}`
  const page = (data: unknown[]) => ({
    data,
    meta: { page: 1, limit: data.length, count: data.length, hasnext: false },
  })

  const routes: Array<
    [string, RegExp, (m: RegExpMatchArray, url: URL, body: { topic?: unknown } | null) => Promise<[number, unknown?]>]
  > = [
    [
      'GET',
      /^\/api\/v5\/clients$/,
      async (_m, url) => {
        const username = url.searchParams.get('username')
        const list = Object.values(broker.clients).filter((c) => username === null || o.usernameOf(c) === username)
        return [200, page(list.map((c) => ({ clientid: c.id, username: o.usernameOf(c) ?? null, connected: true })))]
      },
    ],
    [
      'DELETE',
      /^\/api\/v5\/clients\/([^/]+)$/,
      async (m) => {
        const client = broker.clients[decodeURIComponent(m[1]!)]
        if (!client) return [404, { code: 'CLIENTID_NOT_FOUND', message: 'Client ID not found' }]
        await new Promise<void>((r) => client.close(() => r()))
        return [204]
      },
    ],
    [
      'GET',
      /^\/api\/v5\/subscriptions$/,
      async (_m, url) => {
        const topic = url.searchParams.get('topic')
        if (!topic) return [400, { code: 'BAD_REQUEST', message: 'topic is required' }]
        const seen = new Map<string, number>()
        for (const c of Object.values(broker.clients)) {
          if (c.subscriptions[topic]) seen.set(c.id, 1)
        }
        // Offline persistent sessions are only in persistence (QoS ≥ 1 subscriptions).
        for (const s of await broker.persistence.subscriptionsByTopic(topic)) {
          if (s.topic === topic) seen.set(s.clientId, s.qos)
        }
        return [200, page([...seen].map(([clientid, qos]) => ({ clientid, topic, qos })))]
      },
    ],
    [
      'POST',
      /^\/api\/v5\/clients\/([^/]+)\/unsubscribe$/,
      async (m, _url, body) => {
        const id = decodeURIComponent(m[1]!)
        const topic = typeof body?.topic === 'string' ? body.topic : null
        if (!topic) return [400, { code: 'BAD_REQUEST', message: 'topic is required' }]
        const client = broker.clients[id]
        const sub = client?.subscriptions[topic]
        if (client && sub) {
          await new Promise<void>((resolve, reject) =>
            broker.unsubscribe(topic, sub.func, (err) => (err ? reject(err) : resolve())),
          )
          delete client.subscriptions[topic]
        }
        await broker.persistence.removeSubscriptions({ id }, [topic])
        return [204]
      },
    ],
  ]

  const server = http.createServer((req, res) => {
    const send = (status: number, body?: unknown) => {
      res
        .writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' })
        .end(body === undefined ? undefined : JSON.stringify(body))
    }
    if (req.headers.authorization !== expected)
      return send(401, { code: 'BAD_API_KEY_OR_SECRET', message: 'Check api_key/api_secret' })
    const url = new URL(req.url ?? '/', 'http://broker')
    const route = routes.find(([method, re]) => method === req.method && re.test(url.pathname))
    if (!route) return send(404, { code: 'NOT_FOUND', message: 'no such endpoint' })
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: { topic?: unknown } | null
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null
      } catch {
        return send(400, { code: 'BAD_REQUEST', message: 'body is not JSON' })
      }
      route[2](url.pathname.match(route[1])!, url, body).then(
        ([status, out]) => send(status, out),
        (err: Error) => send(500, { code: 'INTERNAL_ERROR', message: err.message }),
      )
    })
  })
  const port = await listen(server, o.port, o.host, 'broker management API')
  return {
    url: `http://${o.host}:${port}`,
    key: o.key,
    secret: o.secret,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
