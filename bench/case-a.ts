import type { Broker } from './context.ts'
import { startEcho } from './echo.ts'
import type { RequestResponseCase } from './request-response.ts'

/** A: the limit. A bare MQTT.js echo responder where the relay would be: no relay, no HTTP. */
export const caseA: RequestResponseCase = {
  id: 'A',
  title: 'bare MQTT request/response (echo, no relay, no HTTP)',
  setup:
    'An MQTT.js echo responder in the main process holds the relay’s (shared) subscription and answers each request on its reply topic, QoS 1 both ways.',
  async start(_ctx, broker: Broker) {
    const echo = await startEcho(broker.url, broker.shareGroup)
    return { sources: { responder: 'self' }, stop: echo.stop }
  },
}
