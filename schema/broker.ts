import * as z from 'zod'

/**
 * The broker's questions to the workers, in the shape EMQX's HTTP authentication and HTTP
 * authorization send and expect (docs/broker-security.md has the EMQX configuration). The embedded
 * broker asks the same routes, so one set of rules is enforced and tested everywhere.
 */
export const BROKER_HOOK_PATHS = { authn: '/broker/authn', authz: '/broker/authz' } as const

/** EMQX body template: {"clientid": "${clientid}", "username": "${username}", "password": "${password}"}. */
export const authnRequest = z.object({
  clientid: z.string().max(256),
  username: z.string().max(256).default(''),
  password: z.string().max(4096).default(''),
})
export type AuthnRequest = z.infer<typeof authnRequest>

export const authnReply = z.object({
  result: z.enum(['allow', 'deny', 'ignore']),
  is_superuser: z.boolean(),
})
export type AuthnReply = z.infer<typeof authnReply>

/** EMQX body template: {"clientid": "${clientid}", "username": "${username}", "topic": "${topic}", "action": "${action}"}. */
export const authzRequest = z.object({
  clientid: z.string().max(256),
  username: z.string().max(256).default(''),
  topic: z.string().min(1).max(65535),
  action: z.enum(['publish', 'subscribe']),
})
export type AuthzRequest = z.infer<typeof authzRequest>

export const authzReply = z.object({ result: z.enum(['allow', 'deny', 'ignore']) })
export type AuthzReply = z.infer<typeof authzReply>

/**
 * The MQTT identities that are not employees. The relay's password is an EdDSA token it signs
 * itself (workers verify it with the relay's public key, as they do its HTTP calls); an ops
 * identity holds a token issued with the credential secret (`mchat ops-token`).
 */
export const SERVICE_IDENTITY = {
  relayUsername: 'mchat-relay',
  brokerAudience: 'mchat-broker',
  opsAudience: 'mchat-ops',
  /** Ops usernames are `ops:<name>`; `:` never appears in an employee_id. */
  opsPrefix: 'ops:',
  relayTokenTtlSeconds: 3600,
} as const
