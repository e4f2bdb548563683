import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis/cloudflare'
import type { RateLimitClass } from '../../schema/index.ts'
import type { Bindings } from '../env.ts'

/**
 * Per employee and class, over a sliding window, unless RATE_LIMIT_MESSAGE / _MANAGEMENT say
 * otherwise; `agent` counts the calls each AI agent receives (RATE_LIMIT_AGENT, docs/agents.md).
 */
export type LimiterClass = RateLimitClass | 'agent'
export const RATE_LIMIT_DEFAULTS: Record<LimiterClass, string> = {
  message: '120/10s',
  management: '60/10s',
  agent: '60/1m',
}
const RULE_BINDING = {
  message: 'RATE_LIMIT_MESSAGE',
  management: 'RATE_LIMIT_MANAGEMENT',
  agent: 'RATE_LIMIT_AGENT',
} as const
/** How long a request waits for the limiter before the RATE_LIMIT_ON_ERROR policy applies. */
export const RATE_LIMIT_TIMEOUT_MS = 200

export type Verdict =
  | { allowed: true; reason?: 'off' | 'store-unavailable' }
  | { allowed: false; reason: 'limited'; retry_after_ms: number; reset_at: string; limit: number }
  | { allowed: false; reason: 'store-unavailable' }

const RULE = /^(\d{1,6})\/(\d{1,6})(ms|s|m|h)$/

/** `120/10s` → 120 requests per 10 seconds. */
export function parseRule(rule: string): { tokens: number; window: `${number} ${'ms' | 's' | 'm' | 'h'}` } {
  const m = RULE.exec(rule.replace(/\s+/g, ''))
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new Error(`rate limit rule "${rule}" is not N/<window> like 120/10s`)
  return { tokens: Number(m[1]), window: `${Number(m[2])} ${m[3] as 'ms' | 's' | 'm' | 'h'}` }
}

/**
 * Asks the limiter (Upstash Redis REST) whether `employeeId` may make one more request of `cls`.
 * Built per request: no state outlives it (DESIGN contract 8), hence no ephemeral cache. When the
 * store errs or takes longer than RATE_LIMIT_TIMEOUT_MS the policy RATE_LIMIT_ON_ERROR decides:
 * `open` (default) lets the request through, `closed` refuses it; each such event is one log line.
 */
export async function checkRateLimit(
  env: Bindings,
  cls: LimiterClass,
  employeeId: string,
  action: string,
): Promise<Verdict> {
  if (!env.UPSTASH_REDIS_REST_URL) return { allowed: true, reason: 'off' }
  const rule = parseRule(env[RULE_BINDING[cls]] || RATE_LIMIT_DEFAULTS[cls])
  const timeoutMs = Number(env.RATE_LIMIT_TIMEOUT_MS) || RATE_LIMIT_TIMEOUT_MS
  // One deadline for the whole check, NOSCRIPT retry included. Handed over as a function because
  // only then does @upstash/redis throw on abort; given the signal itself it makes up a 200
  // `{result}`, which the limiter's /pipeline call fails on as `res.map is not a function`.
  const deadline = AbortSignal.timeout(timeoutMs)
  const redis = new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    enableTelemetry: false,
    signal: () => deadline,
  })
  const limiter = new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(rule.tokens, rule.window),
    prefix: `${env.RATE_LIMIT_PREFIX || 'mchat:rl'}:${cls}`,
    ephemeralCache: false,
    analytics: false,
    // Otherwise its constructor reads process.env, which Deno refuses without --allow-env.
    enableTelemetry: false,
    timeout: 0,
  })
  try {
    const r = await limiter.limit(employeeId)
    if (r.success) return { allowed: true }
    const retryAfter = Math.max(0, r.reset - Date.now())
    return {
      allowed: false,
      reason: 'limited',
      retry_after_ms: retryAfter,
      reset_at: new Date(r.reset).toISOString(),
      limit: r.limit,
    }
  } catch (err) {
    const open = env.RATE_LIMIT_ON_ERROR !== 'closed'
    console.warn(
      JSON.stringify({
        event: 'ratelimit_unavailable',
        policy: open ? 'open' : 'closed',
        action,
        error: (err as Error).message,
      }),
    )
    return open ? { allowed: true, reason: 'store-unavailable' } : { allowed: false, reason: 'store-unavailable' }
  }
}
