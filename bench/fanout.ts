import type { MqttClient } from 'mqtt'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { now } from './stats.ts'

/**
 * Group members' devices for case E: many MQTT connections in one child process, each subscribed
 * to the group topic, timing when each message reaches each of them.
 */

interface Arrivals {
  count: number
  first: number
  last: number
}

const subscribers: MqttClient[] = []
const seen = new Map<string, Arrivals>()
let expected = 0
let notify: (event: { msgId: string } & Arrivals) => void = () => {}

export function onComplete(f: typeof notify): void {
  notify = f
}

/** Connects `clients` (a bounded number at a time, as a connection storm is not under test). */
export async function connectSubscribers(o: {
  url: string
  clients: Array<{ clientId: string; username?: string; password?: string }>
  topic: string
  batch?: number
}): Promise<number> {
  const batch = o.batch ?? 50
  for (let i = 0; i < o.clients.length; i += batch) {
    await Promise.all(
      o.clients.slice(i, i + batch).map(async ({ clientId, username, password }) => {
        const login = username ? { username, ...(password !== undefined && { password }) } : {}
        // Long keep-alive: 2,000 idle connections must not spend the run pinging.
        const client = await connectMqtt(o.url, { clientId, protocolVersion: 4, clean: true, keepalive: 600, ...login })
        client.on('message', (_topic, buf) => {
          const at = now()
          const msgId = (JSON.parse(buf.toString('utf8')) as { msg_id?: string }).msg_id
          if (!msgId) return
          const a = seen.get(msgId)
          if (!a) seen.set(msgId, { count: 1, first: at, last: at })
          else {
            a.count++
            a.last = at
          }
          const done = seen.get(msgId)!
          if (done.count === expected) notify({ msgId, ...done })
        })
        await client.subscribeAsync(o.topic, { qos: 1 })
        subscribers.push(client)
      }),
    )
  }
  expected = subscribers.length
  return subscribers.length
}

/** What arrived so far for `msgId` (for a message not every subscriber got). */
export function arrivals(msgId: string): Arrivals {
  return seen.get(msgId) ?? { count: 0, first: NaN, last: NaN }
}

export async function disconnectSubscribers(): Promise<void> {
  const all = subscribers.splice(0)
  for (let i = 0; i < all.length; i += 200) await Promise.all(all.slice(i, i + 200).map((c) => c.endAsync()))
}
