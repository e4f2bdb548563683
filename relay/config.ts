import { hostname } from 'node:os'
import { AGENT_CALL_BUDGET_MS } from '../schema/index.ts'

export interface RelayConfig {
  mqttUrl: string
  mqttUsername?: string | undefined
  mqttPassword?: string | undefined
  /** Stable per instance: the broker keeps this relay's persistent session under it. */
  clientId: string
  /** Shared-subscription group; empty for a broker without `$share` (the embedded one). */
  shareGroup: string
  workerUrl: string
  /** The relay's Ed25519 private key as a JWK (JSON). */
  privateKeyJwk: string
  maxInFlight: number
  maxRequestBytes: number
  workerTimeoutMs: number
  /**
   * How long actions that may call AI agents (msg.send_*) wait for their worker when the route
   * table names no timeout for the action itself: their answers stream in for up to a minute.
   * Unset: like every other action.
   */
  agentTimeoutMs?: number | undefined
  drainTimeoutMs: number
  /** A JSON route table (relay/routes.ts), followed as it changes; without it every action goes to workerUrl. */
  routesFile?: string | undefined
  /** Where /metrics (Prometheus), /healthz and /livez are served; unset: not served. */
  opsPort?: number | undefined
  opsHost?: string | undefined
}

/** The agents' whole budget (schema/agents.ts) and room for the database and the deliveries around it. */
export const AGENT_RELAY_TIMEOUT_MS = AGENT_CALL_BUDGET_MS + 15_000

export const RELAY_DEFAULTS = {
  mqttUrl: 'mqtt://127.0.0.1:1883',
  shareGroup: 'gateway',
  workerUrl: 'http://127.0.0.1:8787',
  maxInFlight: 256,
  // A group.create naming 2,000 members with generated ids is about 62 KB.
  maxRequestBytes: 128 * 1024,
  workerTimeoutMs: 10_000,
  drainTimeoutMs: 15_000,
} as const

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`)
  return n
}

function port(env: NodeJS.ProcessEnv, name: string): number {
  const n = Number(env[name])
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${env[name]}"`)
  return n
}

export function relayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const privateKeyJwk = env.MCHAT_RELAY_PRIVATE_KEY
  if (!privateKeyJwk)
    throw new Error('MCHAT_RELAY_PRIVATE_KEY is required (the relay signing key, an Ed25519 private JWK)')
  return {
    mqttUrl: env.MQTT_URL || RELAY_DEFAULTS.mqttUrl,
    mqttUsername: env.MQTT_USERNAME || undefined,
    mqttPassword: env.MQTT_PASSWORD || undefined,
    clientId: env.MCHAT_RELAY_ID || `mchat-relay-${hostname()}`,
    shareGroup: env.MCHAT_SHARE_GROUP ?? RELAY_DEFAULTS.shareGroup,
    workerUrl: env.MCHAT_WORKER_URL || RELAY_DEFAULTS.workerUrl,
    privateKeyJwk,
    maxInFlight: int(env, 'MCHAT_MAX_IN_FLIGHT', RELAY_DEFAULTS.maxInFlight),
    maxRequestBytes: int(env, 'MCHAT_MAX_REQUEST_BYTES', RELAY_DEFAULTS.maxRequestBytes),
    workerTimeoutMs: int(env, 'MCHAT_WORKER_TIMEOUT_MS', RELAY_DEFAULTS.workerTimeoutMs),
    agentTimeoutMs: int(env, 'MCHAT_AGENT_TIMEOUT_MS', AGENT_RELAY_TIMEOUT_MS),
    drainTimeoutMs: int(env, 'MCHAT_DRAIN_TIMEOUT_MS', RELAY_DEFAULTS.drainTimeoutMs),
    routesFile: env.MCHAT_ROUTES_FILE || undefined,
    opsPort: env.MCHAT_OPS_PORT ? port(env, 'MCHAT_OPS_PORT') : undefined,
    opsHost: env.MCHAT_OPS_HOST || undefined,
  }
}
