import type { ActionName } from '../schema/index.ts'
import type { Sql } from './lib/db.ts'
import type { Verdict } from './lib/rate-limit.ts'

/** Configuration arrives only as bindings (`c.env`): wrangler vars/secrets, Deno.env, process.env. */
export interface Bindings {
  /** Postgres connection string for the Neon driver. */
  DATABASE_URL: string
  /** Only for local runs: a Neon-compatible HTTP endpoint in front of a plain Postgres. */
  NEON_FETCH_ENDPOINT?: string
  /** The relay's Ed25519 public key as a JWK (JSON). Workers verify with it and cannot sign. */
  RELAY_PUBLIC_KEY: string
  /** HMAC secret (≥ 32 characters) for the mqtt_password tokens employee.create issues. */
  CREDENTIAL_SECRET: string
  /** What employee.create tells clients to connect to. */
  MQTT_PUBLIC_HOST?: string
  MQTT_PUBLIC_PORT?: string
  MQTT_PUBLIC_TLS?: string
  /** Lifetime of an auth.challenge token in seconds (default 120, at most 900). */
  CHALLENGE_TTL_SECONDS?: string
  /** The rate limiter's store (Upstash Redis REST). Unset: no rate limiting. */
  UPSTASH_REDIS_REST_URL?: string
  UPSTASH_REDIS_REST_TOKEN?: string
  /** Per employee, `N/<window>` (e.g. 120/10s) for msg.* and for every other action. */
  RATE_LIMIT_MESSAGE?: string
  RATE_LIMIT_MANAGEMENT?: string
  /** Key prefix in the limiter's store (default mchat:rl), for deployments sharing one Redis. */
  RATE_LIMIT_PREFIX?: string
  /** Bounded wait for the limiter in ms (default 200); then RATE_LIMIT_ON_ERROR applies. */
  RATE_LIMIT_TIMEOUT_MS?: string
  /** `open` (default): a request passes when the limiter cannot answer; `closed`: it gets 503. */
  RATE_LIMIT_ON_ERROR?: string
}

/** A relay call whose token and body have been verified. */
export interface RelayCall {
  action: ActionName
  clientId: string
  seqId: string
  body: Uint8Array
  bodyHash: string
}

export interface Caller {
  employee_id: string
  name: string
  role: 'admin' | 'member'
  status: 'active' | 'disabled'
}

/** What the middleware chain hands on: relayAuth → validateInput → resolveSession → runAction. */
export interface Variables {
  call: RelayCall
  /** The request validated by the action's contract. */
  input: unknown
  sql: Sql
  caller: Caller | null
  /** What the action's `load` read. */
  loaded: unknown
  /** The rate limiter's answer, asked for in parallel with the database. */
  verdict: Promise<Verdict>
}

export type AppEnv = { Bindings: Bindings; Variables: Variables }
