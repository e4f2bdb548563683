import type { Client } from 'aedes'
import { BROKER_HOOK_PATHS, type AuthnReply, type AuthzReply } from '../schema/index.ts'
import type { BrokerHooks } from './broker.ts'

/**
 * The embedded broker asks the workers' /broker/authn and /broker/authz — the routes an EMQX
 * deployment configures as its HTTP authenticator and authorizer — so the same rules are enforced
 * (and tested end to end) locally. Like EMQX, a superuser (the relay) skips authorization.
 */
export interface HookTarget {
  /** The workers' base URL; null until they are up (everyone is refused meanwhile). */
  url: string | null
  secret: string
}

interface Identity {
  username: string
  superuser: boolean
}

// MQTT CONNACK return codes (3.1.1): 3 server unavailable, 4 bad user name or password.
const UNAVAILABLE = 3
const BAD_CREDENTIALS = 4

export function httpBrokerHooks(
  target: HookTarget,
  onError: (msg: string) => void = () => {},
): BrokerHooks & { usernameOf(client: Client): string | undefined } {
  const identities = new WeakMap<Client, Identity>()
  const ask = async <T>(path: string, body: unknown): Promise<T> => {
    if (!target.url) throw new Error('workers are not up yet')
    const res = await fetch(target.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
    return (await res.json()) as T
  }
  const refused = (returnCode: number, message: string) => Object.assign(new Error(message), { returnCode })

  return {
    usernameOf: (client) => identities.get(client)?.username,
    authenticate(client, username, password, done) {
      ask<AuthnReply>(BROKER_HOOK_PATHS.authn, {
        clientid: client.id,
        username: username ?? '',
        password: password?.toString('utf8') ?? '',
      }).then(
        (r) => {
          if (r.result !== 'allow') return done(refused(BAD_CREDENTIALS, 'not authorized'), false)
          identities.set(client, { username: username ?? '', superuser: r.is_superuser })
          done(null, true)
        },
        (err: Error) => {
          onError(`authn hook: ${err.message}`)
          done(refused(UNAVAILABLE, 'authentication unavailable'), false)
        },
      )
    },
    authorizePublish(client, packet, done) {
      // No client: the broker itself (a will already checked, or the management API).
      if (!client) return done(null)
      const who = identities.get(client)
      if (!who) return done(new Error('not authenticated'))
      if (who.superuser) return done(null)
      // aedes drops the connection on a refused publish; EMQX does with `deny_action = disconnect`.
      ask<AuthzReply>(BROKER_HOOK_PATHS.authz, {
        clientid: client.id,
        username: who.username,
        topic: packet.topic,
        action: 'publish',
      }).then(
        (r) => done(r.result === 'allow' ? null : new Error(`publish to ${packet.topic} not authorized`)),
        (err: Error) => {
          onError(`authz hook: ${err.message}`)
          done(err)
        },
      )
    },
    authorizeSubscribe(client, sub, done) {
      const who = identities.get(client)
      if (!who) return done(null, null)
      if (who.superuser) return done(null, sub)
      // A null subscription is granted as 0x80 (failure); the connection stays.
      ask<AuthzReply>(BROKER_HOOK_PATHS.authz, {
        clientid: client.id,
        username: who.username,
        topic: sub.topic,
        action: 'subscribe',
      }).then(
        (r) => done(null, r.result === 'allow' ? sub : null),
        (err: Error) => {
          onError(`authz hook: ${err.message}`)
          done(null, null)
        },
      )
    },
  }
}
