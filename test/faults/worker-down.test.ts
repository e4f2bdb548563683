import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../local/broker.ts'
import { generateKeys } from '../../local/keys.ts'
import { RELAY_DEFAULTS } from '../../relay/config.ts'
import { createRelayMetrics, type RelayMetrics } from '../../relay/metrics.ts'
import { startRelay, type Relay } from '../../relay/relay.ts'
import { RouteSource } from '../../relay/route-source.ts'
import { Code } from '../../schema/index.ts'
import { startFakeWorker, type FakeWorker } from '../support/fake-worker.ts'
import { connectClient, type TestClient } from '../support/mqtt-client.ts'

/**
 * Issue 7, faults: the worker goes down, hangs, dies mid-request, and comes back. Every request
 * gets a reply the client can act on (503 retry, 504 timed out) from the same relay, which never
 * restarts, and code 0 again as soon as the worker is back.
 */
describe('worker down or slow', () => {
  let broker: EmbeddedBroker
  let worker: FakeWorker
  let relay: Relay
  let metrics: RelayMetrics
  let client: TestClient
  const ROUTE_TIMEOUT_MS = 300

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null })
    worker = await startFakeWorker('w')
    const keys = await generateKeys()
    // The relay-wide timeout is far longer than any wait below: a 504 can only be the route's own.
    const routes = new RouteSource({
      default: { url: worker.url },
      actions: { 'org.tree': { timeout_ms: ROUTE_TIMEOUT_MS } },
    })
    metrics = createRelayMetrics({ relay: 'relay-faults', defaultMetrics: false })
    relay = await startRelay(
      {
        ...RELAY_DEFAULTS,
        mqttUrl: broker.url,
        clientId: 'relay-worker-faults',
        shareGroup: '',
        workerUrl: worker.url,
        privateKeyJwk: keys.relayPrivateJwk,
        workerTimeoutMs: 60_000,
      },
      { routes, metrics, log: () => {}, info: () => {} },
    )
    await relay.ready
    client = await connectClient(broker.url, 'emp_w.dev')
  })
  afterAll(async () => {
    await client?.end()
    await relay?.drain()
    await worker?.close()
    await broker?.close()
  })

  const orgTree = () => client.request('org.tree', {})
  const errors = async (kind: string) => {
    const line = (await metrics.text())
      .split('\n')
      .find((l) => l.startsWith('mchat_relay_worker_errors_total{') && l.includes(`kind="${kind}"`))
    return line ? Number(line.split(' ').pop()) : 0
  }

  it('up: code 0', async () => {
    expect(await orgTree()).toMatchObject({ code: 0, data: { who: 'w' } })
  })

  it('down: 503 at once for every request, no relay restart; code 0 once it is back', async () => {
    await worker.stop()
    const down = await Promise.all(Array.from({ length: 5 }, orgTree))
    expect(down.map((r) => r.code)).toEqual(Array(5).fill(Code.UNAVAILABLE))
    expect(down[0]!.message).toMatch(/^worker unavailable/)
    expect(await errors('unavailable')).toBe(5)
    expect(relay.isReady()).toBe(true) // the relay itself is fine: it answers

    await worker.start()
    expect(await orgTree()).toMatchObject({ code: 0, data: { who: 'w' } })
  })

  it('hanging: 504 from the route timeout for every request, then code 0 when it answers again', async () => {
    worker.behave('hang')
    const slow = await Promise.all(Array.from({ length: 5 }, orgTree))
    expect(slow.map((r) => r.code)).toEqual(Array(5).fill(Code.TIMEOUT))
    expect(slow[0]!.message).toBe('worker timed out')
    expect(await errors('timeout')).toBe(5)
    expect(relay.inFlight()).toBe(0) // nothing left hanging in the relay

    worker.behave('ok')
    expect(await orgTree()).toMatchObject({ code: 0, data: { who: 'w' } })
  })

  it('dies mid-request: 503 (safe to retry with the same seq_id), then code 0 after it restarts', async () => {
    worker.behave('hang')
    const calls = worker.calls
    const pending = client.request('msg.send_private', { to_employee_id: 'x', content: 'hi' }, 'mid-1')
    while (worker.calls === calls) await new Promise((r) => setTimeout(r, 5))
    await worker.stop()
    expect(await pending).toMatchObject({ code: Code.UNAVAILABLE })

    worker.behave('ok')
    await worker.start()
    // The client's retry, same seq_id: a real worker would answer it exactly once (see sigkill.test.ts).
    client.received.splice(0) // so that the retry's reply, not the 503, is the one awaited
    expect(await client.request('msg.send_private', { to_employee_id: 'x', content: 'hi' }, 'mid-1')).toMatchObject({
      code: 0,
    })
    expect(relay.isReady()).toBe(true)
  })
})
