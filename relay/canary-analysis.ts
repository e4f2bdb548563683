import type { RelayMetrics } from './metrics.ts'
import type { RouteSource } from './route-source.ts'
import type { RouteTable } from './routes.ts'

interface Sample {
  at: number
  ok: boolean
  ms: number
}

export interface CanaryEvent {
  event: 'canary_rollback' | 'canary_promotion'
  action: string
  weight: number
  requests: number
  success_rate: number
  p99_ms: number
  reason?: string
}

// What a canary is judged by: its own failures, not the caller's (4xx) mistakes.
export const FAILURE_CODES: ReadonlySet<number> = new Set([500, 503, 504])

/**
 * Watches each analysed canary's replies and acts on them: rollback to weight 0 after enough failed
 * checks, optional stepwise promotion after passed ones. Its changes replace the route table in
 * memory (the file is not rewritten: an operator edits it once the rollout is settled).
 */
export class CanaryAnalyzer {
  #samples = new Map<string, Sample[]>()
  #failures = new Map<string, number>()
  #lastCheck = new Map<string, number>()
  #timer: ReturnType<typeof setInterval>
  #unfollow: () => void

  constructor(
    private readonly routes: RouteSource,
    private readonly o: { metrics?: RelayMetrics | undefined; onEvent: (e: CanaryEvent) => void; tickMs?: number },
  ) {
    this.#timer = setInterval(() => this.check(Date.now()), o.tickMs ?? 50)
    this.#timer.unref?.()
    // A weight set elsewhere (the file, another relay through the ops topic) is judged afresh, a full
    // interval from now: samples taken at the old weight say nothing about it, and without this every
    // relay of a share group would step a promotion on its own schedule, N steps per interval.
    let before = routes.current
    this.#unfollow = routes.onChange((table) => {
      const now = Date.now()
      for (const action of new Set([...Object.keys(before.actions), ...Object.keys(table.actions)])) {
        const was = before.actions[action]?.canary
        const is = table.actions[action]?.canary
        if (was?.weight === is?.weight && JSON.stringify(was?.target) === JSON.stringify(is?.target)) continue
        this.#samples.delete(action)
        this.#failures.delete(action)
        this.#lastCheck.set(action, now)
      }
      before = table
    })
  }

  /** One canary reply (stable replies are not needed for the verdict). */
  record(action: string, variant: 'stable' | 'canary', code: number, ms: number): void {
    if (variant !== 'canary' || !this.routes.current.actions[action]?.canary?.analysis) return
    const list = this.#samples.get(action) ?? []
    list.push({ at: Date.now(), ok: !FAILURE_CODES.has(code), ms })
    this.#samples.set(action, list)
  }

  /** Runs the checks that are due at `now`. */
  check(now: number): void {
    const table = this.routes.current
    for (const [action, route] of Object.entries(table.actions)) {
      const a = route.canary?.analysis
      if (!a || !route.canary || route.canary.weight === 0) continue
      if (now - (this.#lastCheck.get(action) ?? 0) < a.interval_ms) continue
      this.#lastCheck.set(action, now)
      const samples = (this.#samples.get(action) ?? []).filter((s) => s.at >= now - a.window_ms)
      this.#samples.set(action, samples)
      if (samples.length < a.min_requests) continue
      const success = samples.filter((s) => s.ok).length / samples.length
      const sorted = samples.map((s) => s.ms).sort((x, y) => x - y)
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!
      const stats = {
        requests: samples.length,
        success_rate: Math.round(success * 10_000) / 10_000,
        p99_ms: Math.round(p99 * 100) / 100,
      }
      const bad =
        success < a.success_rate
          ? `success rate ${stats.success_rate} < ${a.success_rate}`
          : a.max_p99_ms !== undefined && p99 > a.max_p99_ms
            ? `p99 ${stats.p99_ms} ms > ${a.max_p99_ms} ms`
            : null
      if (bad) {
        const failures = (this.#failures.get(action) ?? 0) + 1
        this.#failures.set(action, failures)
        if (failures >= a.failed_checks)
          this.#setWeight(table, action, 0, { event: 'canary_rollback', action, weight: 0, ...stats, reason: bad })
        continue
      }
      this.#failures.set(action, 0)
      if (a.step_weight && route.canary.weight < a.max_weight) {
        const weight = Math.min(a.max_weight, route.canary.weight + a.step_weight)
        this.#setWeight(table, action, weight, { event: 'canary_promotion', action, weight, ...stats })
      }
    }
  }

  #setWeight(table: RouteTable, action: string, weight: number, e: CanaryEvent): void {
    const route = table.actions[action]!
    this.routes.set(
      { ...table, actions: { ...table.actions, [action]: { ...route, canary: { ...route.canary!, weight } } } },
      e.event,
    )
    this.#failures.delete(action)
    this.#samples.delete(action)
    if (e.event === 'canary_rollback') this.o.metrics?.canaryRolledBack(action)
    this.o.onEvent(e)
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#unfollow()
  }
}
