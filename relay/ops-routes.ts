import type { MqttClient } from 'mqtt'
import { describeZodError, OPS_ROUTES_TOPIC } from '../schema/index.ts'
import type { RouteSource } from './route-source.ts'
import { routeTable, type RouteTable } from './routes.ts'

/** A table as published on the ops topic; an empty payload is the topic being cleared. */
export type OpsTableMessage =
  { kind: 'table'; table: RouteTable } | { kind: 'cleared' } | { kind: 'invalid'; error: string }

export function parseOpsTable(payload: Buffer | string): OpsTableMessage {
  const text = payload.toString()
  if (text.length === 0) return { kind: 'cleared' }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { kind: 'invalid', error: 'not JSON' }
  }
  const parsed = routeTable.safeParse(json)
  return parsed.success
    ? { kind: 'table', table: parsed.data }
    : { kind: 'invalid', error: describeZodError(parsed.error) }
}

export interface OpsRoutes {
  /** Subscribes to the ops routes topic; called on every connect, before the request subscription. */
  subscribe(client: MqttClient): void
  /** Takes a message of the ops routes topic; false for any other topic (a request). */
  receive(topic: string, payload: Buffer): boolean
  /** Publishes the table in force, retained, so the rest of the share group follows this relay's canary decision. */
  publish(client: MqttClient): void
}

/**
 * The relay's side of `mchat/ops/routes` (docs/routes.md): every relay subscribes without `$share`,
 * so each one gets every table and the retained one at each (re)connect, and they all end on the
 * last table the broker accepted. Receiving never publishes, so a relay's own publication coming
 * back to it, or another relay's, cannot start a loop.
 */
export function opsRoutes(routes: RouteSource, info: (msg: string) => void): OpsRoutes {
  return {
    subscribe(client) {
      client.subscribe(OPS_ROUTES_TOPIC, { qos: 1 }, (err, granted) => {
        // Not fatal: the relay serves on with the file's table, it only stops following the group's.
        if (err || granted?.[0]?.qos === 128)
          info(`subscribe ${OPS_ROUTES_TOPIC} refused: route tables published there are not followed`)
      })
    },
    receive(topic, payload) {
      if (topic !== OPS_ROUTES_TOPIC) return false
      const m = parseOpsTable(payload)
      if (m.kind === 'invalid') info(`routes on ${OPS_ROUTES_TOPIC} ignored, the table in force stays: ${m.error}`)
      else if (m.kind === 'cleared') routes.release(`${OPS_ROUTES_TOPIC} cleared`)
      else routes.hold(m.table, OPS_ROUTES_TOPIC)
      return true
    },
    publish(client) {
      // Like the canary announcement: a decision taken while cut off stays here, and the retained
      // table that arrives on reconnect replaces it; the analysis then judges the canary again.
      if (client.connected) client.publish(OPS_ROUTES_TOPIC, JSON.stringify(routes.current), { qos: 1, retain: true })
    },
  }
}
