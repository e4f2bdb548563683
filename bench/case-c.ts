import { noopApp } from './noop-worker.ts'
import { startBenchRelay } from './case-b.ts'
import type { RequestResponseCase } from './request-response.ts'

/** C: B without the HTTP hop. The relay calls the same no-op app's fetch in-process. */
export const caseC: RequestResponseCase = {
  id: 'C',
  title: 'relay + the same worker in-process (no HTTP hop)',
  setup:
    'As B, but the relay hands each signed request to the no-op Hono app’s fetch() in its own process instead of POSTing it.',
  async start(ctx, broker) {
    const app = noopApp()
    const relay = await startBenchRelay(ctx, broker, 'http://in-process', (url, init) =>
      Promise.resolve(app.fetch(new Request(url, init))),
    )
    return { sources: { 'relay+worker': 'self' }, stop: () => relay.drain() }
  },
}
