import type { IClientOptions } from 'mqtt'
import type { MqttConnection } from '../../schema/index.ts'
import { brokerLogin } from '../../relay/broker-login.ts'
import { loadOrCreateKeys } from '../../local/keys.ts'

/** MQTT login options for an employee, from its mqtt_connection (what a real client sends). */
export const loginOf = (conn: MqttConnection): IClientOptions => ({ username: conn.mqtt_username, password: conn.mqtt_password })

/**
 * A superuser login, as the relay's service account: for test observers that must see every
 * delivery namespace on a broker that enforces the ACL. The token is bound to this client id.
 */
export async function superuserLogin(dataDir: string, clientId: string): Promise<IClientOptions> {
  const keys = await loadOrCreateKeys(dataDir)
  const login = await brokerLogin(keys.relayPrivateJwk, clientId)
  return { username: login.username, password: login.current() }
}
