import { describe, it, expect, afterEach } from 'vitest'
import net from 'node:net'
import { prometheusContentType } from 'prom-client'
import { listen } from '../local/ports.ts'
import { Code } from '../schema/index.ts'
import { createRelayMetrics, LATENCY_BUCKETS, type RelayMetrics } from './metrics.ts'
import { startOpsServer, type OpsServer } from './ops-server.ts'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of an exposition text (comment lines left out). */
function parse(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`unparsable sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    const raw = m[3]!
    samples.push({ name: m[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) })
  }
  return samples
}

/** The one sample with this name and exactly these labels, or undefined. */
function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample | undefined {
  const hits = samples.filter((s) => {
    if (s.name !== name) return false
    const keys = Object.keys(s.labels)
    return keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])
  })
  if (hits.length > 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`)
  return hits[0]
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return find(samples, name, labels)?.value
}

/** A relay's worth of traffic: three requests (one timing out), deliveries, a canary that rolled back. */
function record(m: RelayMetrics): void {
  for (let i = 0; i < 4; i++) m.requestStarted()
  m.requestFinished({ action: 'send_message', target: 'stable', code: Code.OK, seconds: 0.003 })
  m.requestFinished({ action: 'send_message', target: 'stable', code: Code.OK, seconds: 0.2 })
  m.requestFinished({ action: 'send_message', target: 'canary', code: Code.TIMEOUT, seconds: 7 })
  m.workerError({ action: 'send_message', target: 'canary', kind: 'timeout' })
  m.deliveryPublished()
  m.deliveryPublished(2)
  m.canaryWeight('send_message', 0.25)
  m.canaryWeight('send_message', 0) // after the rollback
  m.canaryWeight('create_group', 0.5)
  m.canaryRolledBack('send_message')
}

describe('relay metrics', () => {
  it('exposes counters, the latency histogram, gauges and help texts', async () => {
    const m = createRelayMetrics({ defaultMetrics: false })
    record(m)
    const text = await m.text()
    const s = parse(text)

    const stable = { action: 'send_message', target: 'stable' }
    const canary = { action: 'send_message', target: 'canary' }
    expect(value(s, 'mchat_relay_requests_total', { ...stable, code: '0' })).toBe(2)
    expect(value(s, 'mchat_relay_requests_total', { ...canary, code: '504' })).toBe(1)
    expect(find(s, 'mchat_relay_requests_total', { ...canary, code: '0' })).toBeUndefined()

    expect(value(s, 'mchat_relay_request_duration_seconds_count', stable)).toBe(2)
    expect(value(s, 'mchat_relay_request_duration_seconds_sum', stable)).toBeCloseTo(0.203, 9)
    expect(value(s, 'mchat_relay_request_duration_seconds_bucket', { ...stable, le: '0.0025' })).toBe(0)
    expect(value(s, 'mchat_relay_request_duration_seconds_bucket', { ...stable, le: '0.005' })).toBe(1)
    expect(value(s, 'mchat_relay_request_duration_seconds_bucket', { ...stable, le: '0.25' })).toBe(2)
    expect(value(s, 'mchat_relay_request_duration_seconds_bucket', { ...stable, le: '+Inf' })).toBe(2)
    expect(value(s, 'mchat_relay_request_duration_seconds_bucket', { ...canary, le: '5' })).toBe(0)
    expect(value(s, 'mchat_relay_request_duration_seconds_bucket', { ...canary, le: '10' })).toBe(1)
    expect(value(s, 'mchat_relay_request_duration_seconds_count', canary)).toBe(1)
    // Every bucket from 0.5 ms to 10 s, then +Inf.
    const les = s
      .filter((x) => x.name === 'mchat_relay_request_duration_seconds_bucket' && x.labels.target === 'stable')
      .map((x) => x.labels.le)
    expect(les).toEqual([...LATENCY_BUCKETS.map(String), '+Inf'])
    expect(LATENCY_BUCKETS[0]).toBe(0.0005)
    expect(LATENCY_BUCKETS.at(-1)).toBe(10)

    expect(value(s, 'mchat_relay_in_flight')).toBe(1) // four taken, three answered
    expect(value(s, 'mchat_relay_deliveries_published_total')).toBe(3)
    expect(value(s, 'mchat_relay_worker_errors_total', { ...canary, kind: 'timeout' })).toBe(1)
    expect(value(s, 'mchat_relay_canary_weight', { action: 'send_message' })).toBe(0)
    expect(value(s, 'mchat_relay_canary_weight', { action: 'create_group' })).toBe(0.5)
    expect(value(s, 'mchat_relay_canary_rollbacks_total', { action: 'send_message' })).toBe(1)
    expect(find(s, 'mchat_relay_canary_rollbacks_total', { action: 'create_group' })).toBeUndefined()

    for (const [name, type] of [
      ['mchat_relay_requests_total', 'counter'],
      ['mchat_relay_request_duration_seconds', 'histogram'],
      ['mchat_relay_in_flight', 'gauge'],
      ['mchat_relay_deliveries_published_total', 'counter'],
      ['mchat_relay_worker_errors_total', 'counter'],
      ['mchat_relay_canary_weight', 'gauge'],
      ['mchat_relay_canary_rollbacks_total', 'counter'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`)
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.*$`, 'm'))
    }
    // Without the default metrics, every sample is a relay metric.
    expect(s.every((x) => x.name.startsWith('mchat_relay_'))).toBe(true)
    expect(find(s, 'mchat_relay_process_cpu_user_seconds_total')).toBeUndefined()
  })

  it('the relay label goes on every sample, process metrics included', async () => {
    const m = createRelayMetrics({ relay: 'relay-a' })
    record(m)
    const s = parse(await m.text())
    expect(
      value(s, 'mchat_relay_requests_total', { action: 'send_message', target: 'stable', code: '0', relay: 'relay-a' }),
    ).toBe(2)
    expect(value(s, 'mchat_relay_in_flight', { relay: 'relay-a' })).toBe(1)
    expect(find(s, 'mchat_relay_process_cpu_user_seconds_total', { relay: 'relay-a' })).toBeDefined()
    expect(find(s, 'mchat_relay_nodejs_eventloop_lag_seconds', { relay: 'relay-a' })).toBeDefined()
    expect(find(s, 'mchat_relay_nodejs_heap_size_used_bytes', { relay: 'relay-a' })).toBeDefined()
    expect(s.every((x) => x.name.startsWith('mchat_relay_') && x.labels.relay === 'relay-a')).toBe(true)
  })

  it('two instances keep their own values', async () => {
    const a = createRelayMetrics({ relay: 'a' })
    const b = createRelayMetrics({ relay: 'b' })
    record(a)
    b.requestStarted()
    b.requestFinished({ action: 'create_group', target: 'stable', code: Code.OK, seconds: 0.01 })
    b.deliveryPublished(5)

    const sa = parse(await a.text())
    const sb = parse(await b.text())
    expect(value(sa, 'mchat_relay_deliveries_published_total', { relay: 'a' })).toBe(3)
    expect(value(sb, 'mchat_relay_deliveries_published_total', { relay: 'b' })).toBe(5)
    expect(value(sa, 'mchat_relay_in_flight', { relay: 'a' })).toBe(1)
    expect(value(sb, 'mchat_relay_in_flight', { relay: 'b' })).toBe(0)
    expect(sa.some((x) => x.labels.action === 'create_group' && x.name === 'mchat_relay_requests_total')).toBe(false)
    expect(
      value(sb, 'mchat_relay_requests_total', { action: 'create_group', target: 'stable', code: '0', relay: 'b' }),
    ).toBe(1)
    expect(sb.some((x) => x.labels.action === 'send_message')).toBe(false)
    expect(sb.some((x) => x.labels.relay !== 'b')).toBe(false)
  })
})

describe('ops server', () => {
  const servers: OpsServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  async function start(ready: () => boolean, metrics = createRelayMetrics({ relay: 'ops', defaultMetrics: false })) {
    const s = await startOpsServer({ port: 0, metrics, ready })
    servers.push(s)
    return { s, metrics }
  }

  it('serves /metrics in the Prometheus text format', async () => {
    const { s, metrics } = await start(() => true)
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    record(metrics)
    const res = await fetch(`${s.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(prometheusContentType)
    const samples = parse(await res.text())
    expect(value(samples, 'mchat_relay_deliveries_published_total', { relay: 'ops' })).toBe(3)

    const head = await fetch(`${s.url}/metrics`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('/healthz follows ready(), /livez is always up', async () => {
    let ready = false
    const { s } = await start(() => ready)
    const health = async () => {
      const res = await fetch(`${s.url}/healthz`)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      return { status: res.status, body: await res.json() }
    }
    expect(await health()).toEqual({ status: 503, body: { status: 'not ready' } })
    ready = true
    expect(await health()).toEqual({ status: 200, body: { status: 'ready' } })
    ready = false
    expect(await health()).toEqual({ status: 503, body: { status: 'not ready' } })

    const live = await fetch(`${s.url}/livez`)
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'alive' })
    expect((await fetch(`${s.url}/healthz?verbose=1`)).status).toBe(503) // the query is not the path
  })

  it('a ready() that throws is not ready', async () => {
    const { s } = await start(() => {
      throw new Error('boom')
    })
    expect((await fetch(`${s.url}/healthz`)).status).toBe(503)
  })

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { s } = await start(() => true)
    for (const path of ['/', '/metricsx', '/healthz/', '/favicon.ico']) {
      const res = await fetch(`${s.url}${path}`)
      expect(res.status, path).toBe(404)
      await res.body?.cancel()
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`${s.url}/metrics`, { method })
      expect(res.status, method).toBe(405)
      expect(res.headers.get('allow')).toBe('GET, HEAD')
      await res.body?.cancel()
    }
  })

  it('a taken port is a one-line error, and close() frees the port', async () => {
    const { s } = await start(() => true)
    const port = Number(new URL(s.url).port)
    await fetch(`${s.url}/livez`).then((r) => r.text()) // leaves a keep-alive connection open

    await expect(
      startOpsServer({ port, metrics: createRelayMetrics({ defaultMetrics: false }), ready: () => true }),
    ).rejects.toThrow(`relay ops server: port ${port} on 127.0.0.1 is already in use`)

    await s.close()
    await s.close() // idempotent
    await expect(fetch(`${s.url}/livez`)).rejects.toThrow()
    const again = net.createServer()
    expect(await listen(again, port, '127.0.0.1', 'test')).toBe(port)
    await new Promise<void>((resolve) => again.close(() => resolve()))
  })
})
