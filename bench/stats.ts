/**
 * Milliseconds on CLOCK_MONOTONIC with microsecond resolution. Unlike performance.now(), whose
 * origin is each process's start, it is comparable across processes on the same machine, so a
 * send timed in one child and a delivery timed in another can be subtracted.
 */
export function now(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000
}

export interface Summary {
  n: number
  min: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const sum = sorted.reduce((s, v) => s + v, 0)
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  }
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

/** ms with a precision that suits its size: 0.312, 4.21, 38.4, 1250. */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–'
  if (v < 1) return v.toFixed(3)
  if (v < 10) return v.toFixed(2)
  if (v < 100) return v.toFixed(1)
  return v.toFixed(0)
}

export function rate(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${Math.round(v).toLocaleString('en-US')}/s`
}

export function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(0)} %`
}

export function round(v: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
