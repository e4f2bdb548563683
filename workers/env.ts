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
  /** Calls per AI agent, `N/<window>` (default 60/1m): beyond it the agent is not called (docs/agents.md). */
  RATE_LIMIT_AGENT?: string
  /**
   * Comma-separated host names or addresses an agent webhook may use although they are local or
   * private, over http:// too. For development only (`npm start` sets 127.0.0.1, localhost).
   */
  AGENT_WEBHOOK_ALLOW_HOSTS?: string
  /** Comma- or newline-separated words masked in agents' answers before delivery (case-insensitive). */
  AGENT_BLOCKED_WORDS?: string
  /**
   * The S3-compatible object store clients upload to and download from directly (config.storage,
   * file.*). The workers only sign; they never see file bytes. Endpoint, bucket and both key
   * parts unset: those actions answer 503. Addressing is path-style (`{endpoint}/{bucket}/{key}`).
   */
  S3_ENDPOINT?: string
  S3_BUCKET?: string
  /** Signing region (default us-east-1; `auto` for Cloudflare R2). */
  S3_REGION?: string
  /** Stays in the workers: clients get signatures made with it, never the key itself. */
  S3_ACCESS_KEY_ID?: string
  S3_SECRET_ACCESS_KEY?: string
  /** Largest declared upload in bytes (default 52428800, 50 MiB). */
  S3_UPLOAD_MAX_BYTES?: string
  /** Comma-separated content types file.upload_url accepts, `type/*` allowed (default in workers/lib/storage.ts). */
  S3_UPLOAD_CONTENT_TYPES?: string
  /** Lifetime of a signed URL or policy in seconds when the request names none (default 300). */
  S3_URL_TTL_SECONDS?: string
  /** Most a request may ask for with `expires_in` (default 3600, at most 604800). */
  S3_URL_MAX_TTL_SECONDS?: string
  /** The broker's bearer secret for /broker/authn and /broker/authz. Unset: the hooks answer 503. */
  BROKER_HOOK_SECRET?: string
  /**
   * `true` only where the broker authenticates every connection through /broker/authn (which ties
   * client ids to employees): auth.bind then accepts the client id as proof, without mqtt_password.
   */
  BROKER_ENFORCES_IDENTITY?: string
  /**
   * The broker's management API (EMQX's REST API, or the embedded broker's subset of it): used to
   * drop a disabled or re-credentialed employee's connections and a removed member's group
   * subscription. Unset: nothing is revoked at the broker (plain Mosquitto, docs/broker-security.md).
   */
  BROKER_API_URL?: string
  BROKER_API_KEY?: string
  BROKER_API_SECRET?: string
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
