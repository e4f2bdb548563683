import { REQUEST_FILTER, parseRequestTopic, replyTopic, sharedRequestFilter } from '../schema/index.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'

/**
 * Case A's responder: where the relay would sit, an MQTT.js client that holds the same (shared)
 * subscription and answers each request on its reply topic with a reply carrying the request
 * payload back as `data`, QoS 1 both ways. No relay logic, no HTTP: the most any relay could
 * achieve with MQTT.js.
 */
export async function startEcho(url: string, shareGroup: string): Promise<{ stop(): Promise<void> }> {
  const client = await connectMqtt(url, { clientId: 'mchat-bench-echo', protocolVersion: 4, clean: true })
  client.on('message', (topic, payload) => {
    const t = parseRequestTopic(topic)
    if (!t.ok) return
    client.publish(
      replyTopic(t.client_id, t.seq_id),
      `{"seq_id":${JSON.stringify(t.seq_id)},"code":0,"message":"ok","data":${payload}}`,
      { qos: 1 },
    )
  })
  await client.subscribeAsync(shareGroup ? sharedRequestFilter(shareGroup) : REQUEST_FILTER, { qos: 1 })
  return { stop: () => client.endAsync() }
}
