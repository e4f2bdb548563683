import * as z from 'zod'
import { AGENT_TRIGGER_ACTIONS, isActionName } from '../schema/index.ts'

/**
 * Where each action's requests go: a stable target and optionally a canary with a weight, per
 * action. A target is a base URL, or a Cloudflare Worker version (sent as
 * Cloudflare-Workers-Version-Overrides) so one Worker deployment can canary a single action.
 */
export const routeTarget = z
  .strictObject({
    url: z.url({ protocol: /^https?$/ }).optional(),
    worker: z.string().min(1).max(128).optional(),
    version: z.string().min(1).max(128).optional(),
  })
  .refine((t) => t.url !== undefined || t.version !== undefined, 'a target needs a url or a Cloudflare version')
  .refine(
    (t) => (t.version === undefined) === (t.worker === undefined),
    'a Cloudflare version needs its worker name, and only with one',
  )
export type RouteTarget = z.infer<typeof routeTarget>

const timeoutMs = z.number().int().min(1).max(300_000)

/**
 * Automatic analysis of a canary (in the spirit of Flagger): every `interval_ms`, over the last
 * `window_ms`, with at least `min_requests`, the canary's success rate (replies other than 500,
 * 503 and 504) must reach `success_rate` and its p99 stay under `max_p99_ms`; `failed_checks`
 * failures in a row set its weight to 0. With `step_weight`, each passed check raises the weight
 * by that much, up to `max_weight`.
 */
export const canaryAnalysis = z.strictObject({
  interval_ms: z.number().int().min(10).max(3_600_000).default(10_000),
  window_ms: z.number().int().min(10).max(3_600_000).default(60_000),
  min_requests: z.number().int().min(1).default(20),
  success_rate: z.number().min(0).max(1).default(0.99),
  max_p99_ms: z.number().positive().optional(),
  failed_checks: z.number().int().min(1).default(2),
  step_weight: z.number().positive().max(100).optional(),
  max_weight: z.number().min(0).max(100).default(50),
})
export type CanaryAnalysis = z.infer<typeof canaryAnalysis>

export const actionRoute = z.strictObject({
  stable: routeTarget.optional(),
  canary: z
    .strictObject({
      target: routeTarget,
      weight: z.number().min(0).max(100),
      analysis: canaryAnalysis.optional(),
      /**
       * A request the canary fails (500, 503, 504, malformed, refused, timed out) before any
       * delivery goes to stable within its remaining time (docs/routes.md). `false` shows users
       * the canary's raw behaviour.
       */
      fallback: z.boolean().default(true),
      /**
       * How long the canary may take to its first answer line before stable is asked instead.
       * Default: half the request's timeout, so stable keeps the other half.
       */
      first_line_ms: timeoutMs.optional(),
    })
    .optional(),
  /** Agent actions need longer than the default. */
  timeout_ms: timeoutMs.optional(),
})

export const routeTable = z.strictObject({
  default: routeTarget.refine((t) => t.url !== undefined, 'the default target needs a url'),
  timeout_ms: timeoutMs.optional(),
  actions: z
    .record(z.string(), actionRoute)
    .refine((a) => Object.keys(a).every(isActionName), { message: 'names an action that does not exist' })
    .default({}),
})
export type RouteTable = z.infer<typeof routeTable>

/** Where one call goes. */
export interface Target {
  url: string
  headers: Record<string, string>
  /** A label for logs and metrics: the version id or the URL. */
  target: string
}

export interface Route extends Target {
  variant: 'stable' | 'canary'
  timeoutMs: number
  /** On a canary with fallback on: stable, and how long the canary may take to its first line. */
  fallback?: Target & { firstLineMs: number }
}

/**
 * 0…9999 from the client id and action (FNV-1a): the same client always falls in the same bucket,
 * so it keeps its version while the weight stays or rises.
 */
export function bucketOf(clientId: string, action: string): number {
  let h = 0x811c9dc5
  const s = `${clientId}\u0000${action}`
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h % 10_000
}

/**
 * The route of one request. `defaultTimeoutMs` applies when the table names none; actions that
 * may call AI agents wait at least `agentTimeoutMs` unless their own entry says otherwise.
 */
export function pickRoute(
  table: RouteTable,
  action: string,
  clientId: string,
  defaultTimeoutMs: number,
  agentTimeoutMs?: number,
): Route {
  const r = table.actions[action]
  const stable = r?.stable ?? table.default
  const canary = r?.canary && bucketOf(clientId, action) < r.canary.weight * 100 ? r.canary : undefined
  const target = (t: RouteTarget): Target => {
    const headers: Record<string, string> = {}
    if (t.version) {
      headers['Cloudflare-Workers-Version-Overrides'] = `${t.worker}="${t.version}"`
      // Version affinity on Cloudflare's side too: one client, one version.
      headers['Cloudflare-Workers-Version-Key'] = clientId
    }
    return { url: t.url ?? stable.url ?? table.default.url!, headers, target: t.version ?? t.url! }
  }
  const timeoutMs =
    r?.timeout_ms ??
    Math.max(table.timeout_ms ?? defaultTimeoutMs, AGENT_TRIGGER_ACTIONS.includes(action) ? (agentTimeoutMs ?? 0) : 0)
  if (!canary) return { ...target(stable), variant: 'stable', timeoutMs }
  return {
    ...target(canary.target),
    variant: 'canary',
    timeoutMs,
    ...(canary.fallback && {
      fallback: {
        ...target(stable),
        firstLineMs: Math.min(canary.first_line_ms ?? Math.floor(timeoutMs / 2), timeoutMs),
      },
    }),
  }
}

/** The table a relay without a routes file uses: everything to one worker URL. */
export const singleTarget = (url: string): RouteTable => ({ default: { url }, actions: {} })
