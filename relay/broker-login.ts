import { SignJWT, importJWK, type JWK } from 'jose'
import type { MqttClient } from 'mqtt'
import { RELAY_TOKEN, SERVICE_IDENTITY } from '../schema/index.ts'

/**
 * The relay's MQTT password: a token it signs with its own key for the broker's authn hook
 * (workers verify it with the relay's public key), so no extra secret is shared. MQTT.js reads
 * `options.password` at each connect but signing is async, so a fresh token is kept ready.
 */
export async function brokerLogin(
  privateJwk: string,
  clientId: string,
): Promise<{ username: string; current(): string; keepFresh(client: MqttClient): () => void }> {
  const key = await importJWK(JSON.parse(privateJwk) as JWK, RELAY_TOKEN.alg)
  const ttl = SERVICE_IDENTITY.relayTokenTtlSeconds
  const mint = () =>
    new SignJWT({})
      .setProtectedHeader({ alg: RELAY_TOKEN.alg })
      .setIssuer(RELAY_TOKEN.issuer)
      .setAudience(SERVICE_IDENTITY.brokerAudience)
      .setSubject(clientId)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(key)
  let token = await mint()
  return {
    username: SERVICE_IDENTITY.relayUsername,
    current: () => token,
    keepFresh(client) {
      const timer = setInterval(
        () => {
          mint().then(
            (t) => (token = t),
            () => {},
          )
        },
        (ttl / 4) * 1000,
      )
      timer.unref()
      const use = () => (client.options.password = token)
      client.on('reconnect', use)
      return () => {
        clearInterval(timer)
        client.off('reconnect', use)
      }
    },
  }
}
