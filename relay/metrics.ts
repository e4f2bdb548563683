import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Why a worker call did not produce a worker reply (see forward.ts). */
export type WorkerErrorKind = 'timeout' | 'unavailable' | 'malformed' | 'http'

export interface RelayMetrics {
  /** This relay's own registry: several relays (and their metrics) can live in one process. */
  readonly registry: Registry
  /** A request was taken (in-flight +1). */
  requestStarted(): void
  /** A request was answered (in-flight -1), counted by action/target/code and timed by action/target. */
  requestFinished(l: { action: string; target: string; code: number; seconds: number }): void
  /** `n` deliveries (default 1) were accepted by the broker. */
  deliveryPublished(n?: number): void
  workerError(l: { action: string; target: string; kind: WorkerErrorKind }): void
  /** The share of an action's requests sent to its canary. */
  canaryWeight(action: string, weight: number): void
  canaryRolledBack(action: string): void
  /** A canary failed a request and stable answered it instead. */
  canaryFallback(action: string): void
  /** The Prometheus exposition text. */
  text(): Promise<string>
}

export interface RelayMetricsOptions {
  /** Set as a default label (`relay="…"`) on every sample of this registry. */
  relay?: string
  /**
   * Also collect prom-client's process and Node metrics (CPU, memory, event loop lag, GC…) under
   * the same prefix. Default true. Each collection starts an event-loop delay monitor and a GC
   * observer that never stop (neither keeps the process alive), so code that makes many short-lived
   * instances, like tests, can turn it off.
   */
  defaultMetrics?: boolean
}

export const METRIC_PREFIX = 'mchat_relay_'

/** Request latency buckets in seconds: 0.5 ms … 10 s (the worker timeout's order of magnitude). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export function createRelayMetrics(o: RelayMetricsOptions = {}): RelayMetrics {
  const registry = new Registry()
  if (o.relay !== undefined) registry.setDefaultLabels({ relay: o.relay })
  const registers = [registry]

  const requests = new Counter({
    name: `${METRIC_PREFIX}requests_total`,
    help: 'Requests answered, by action, worker target and reply code.',
    labelNames: ['action', 'target', 'code'] as const,
    registers,
  })
  const duration = new Histogram({
    name: `${METRIC_PREFIX}request_duration_seconds`,
    help: 'Time from taking a request to publishing its reply, by action and worker target.',
    labelNames: ['action', 'target'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const inFlight = new Gauge({
    name: `${METRIC_PREFIX}in_flight`,
    help: 'Requests taken and not yet answered.',
    registers,
  })
  const deliveries = new Counter({
    name: `${METRIC_PREFIX}deliveries_published_total`,
    help: 'Deliveries asked for by workers and accepted by the broker.',
    registers,
  })
  const workerErrors = new Counter({
    name: `${METRIC_PREFIX}worker_errors_total`,
    help: 'Worker calls that produced no worker reply, by action, worker target and kind (timeout, unavailable, malformed, http).',
    labelNames: ['action', 'target', 'kind'] as const,
    registers,
  })
  const canaryWeights = new Gauge({
    name: `${METRIC_PREFIX}canary_weight`,
    help: "Share of an action's requests routed to its canary worker.",
    labelNames: ['action'] as const,
    registers,
  })
  const rollbacks = new Counter({
    name: `${METRIC_PREFIX}canary_rollbacks_total`,
    help: "Automatic rollbacks of an action's canary.",
    labelNames: ['action'] as const,
    registers,
  })
  const fallbacks = new Counter({
    name: `${METRIC_PREFIX}canary_fallbacks_total`,
    help: "Requests an action's canary failed before any delivery and its stable version answered.",
    labelNames: ['action'] as const,
    registers,
  })

  // Collected on scrape (no interval timer); metric names only clash within one registry, and this
  // registry is new, so every instance can have its own.
  if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX })

  return {
    registry,
    requestStarted: () => inFlight.inc(),
    requestFinished: ({ action, target, code, seconds }) => {
      inFlight.dec()
      requests.inc({ action, target, code: String(code) })
      duration.observe({ action, target }, seconds)
    },
    deliveryPublished: (n = 1) => {
      if (n > 0) deliveries.inc(n)
    },
    workerError: ({ action, target, kind }) => workerErrors.inc({ action, target, kind }),
    canaryWeight: (action, weight) => canaryWeights.set({ action }, weight),
    canaryRolledBack: (action) => rollbacks.inc({ action }),
    canaryFallback: (action) => fallbacks.inc({ action }),
    text: () => registry.metrics(),
  }
}
