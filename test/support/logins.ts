import type { IClientOptions } from 'mqtt'
import type { MqttConnection } from '../../schema/index.ts'
import { brokerLogin } from '../../relay/broker-login.ts'
import { loadOrCreateKeys } from '../../local/keys.ts'
import { connectClient, type TestClient } from './mqtt-client.ts'

/** MQTT login options for an employee, from its mqtt_connection (what a real client sends). */
export const loginOf = (conn: MqttConnection): IClientOptions => ({
  username: conn.mqtt_username,
  password: conn.mqtt_password,
})

/**
 * A superuser login, as the relay's service account: for test observers that must see every
 * delivery namespace on a broker that enforces the ACL. The token is bound to this client id.
 */
export async function superuserLogin(dataDir: string, clientId: string): Promise<IClientOptions> {
  const keys = await loadOrCreateKeys(dataDir)
  const login = await brokerLogin(keys.relayPrivateJwk, clientId)
  return { username: login.username, password: login.current() }
}

/** Connects as the employee `conn` names, under `{employee_id}.{device}`, and binds with auth.bind. */
export async function connectBound(url: string, conn: MqttConnection, device: string): Promise<TestClient> {
  const c = await connectClient(url, `${conn.mqtt_username}.${device}`, loginOf(conn))
  const bound = await c.request('auth.bind', { mqtt_password: conn.mqtt_password })
  if (bound.code !== 0) {
    await c.end()
    throw new Error(`auth.bind as ${conn.mqtt_username} failed: ${JSON.stringify(bound)}`)
  }
  return c
}
