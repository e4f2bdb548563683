import { RELAY_DEFAULTS } from '../relay/config.ts'
import type { WorkerFetch } from '../relay/forward.ts'
import { createRelayMetrics } from '../relay/metrics.ts'
import { startRelay } from '../relay/relay.ts'
import { generateKeys } from '../local/keys.ts'
import type { BenchContext, Broker } from './context.ts'
import { startChild } from './procs.ts'
import type { RequestResponseCase } from './request-response.ts'

/**
 * The relay as relay/main.ts runs it in production (request log, Prometheus metrics, default
 * limits), in this process, against `workerUrl` or, with `fetch`, a worker app in-process.
 */
export async function startBenchRelay(ctx: BenchContext, broker: Broker, workerUrl: string, fetch?: WorkerFetch) {
  const keys = await generateKeys()
  const clientId = `mchat-bench-relay-${Date.now().toString(36)}`
  const relay = await startRelay(
    {
      ...RELAY_DEFAULTS,
      mqttUrl: broker.url,
      clientId,
      shareGroup: broker.shareGroup,
      workerUrl,
      privateKeyJwk: keys.relayPrivateJwk,
    },
    {
      log: ctx.relayLog,
      info: () => {},
      metrics: createRelayMetrics({ relay: clientId }),
      ...(fetch ? { fetch } : {}),
    },
  )
  await relay.ready
  return relay
}

/** B: relay + a no-op worker over HTTP, the worker in a process of its own as it would be. */
export const caseB: RequestResponseCase = {
  id: 'B',
  title: 'relay + no-op worker over HTTP',
  setup:
    'The relay (as in production: signs each call with EdDSA, request log, metrics) in the main process; a no-op Hono worker on @hono/node-server in a child process answers each POST with the NDJSON reply.',
  async start(ctx, broker) {
    const worker = await startChild('worker')
    const url = await worker.call<string>('worker.start')
    const relay = await startBenchRelay(ctx, broker, url)
    return {
      sources: { relay: 'self', worker },
      stop: async () => {
        await relay.drain()
        await worker.stop()
      },
    }
  },
}
