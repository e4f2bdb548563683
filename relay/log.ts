export interface RequestLogLine {
  client_id: string
  seq_id: string
  action: string
  latency_ms: number
  code: number
  /** Which version of the action answered, once it reached a worker. */
  variant?: 'stable' | 'canary'
  /** The canary's failure, when stable answered in its place (docs/routes.md). */
  fallback?: { variant: 'canary'; target: string; code: number; latency_ms: number }
}

export type RequestLogger = (line: RequestLogLine) => void

/** One line per request (seed 000 §8.1), never the payload. */
export const jsonLineLogger: RequestLogger = (line) => {
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), ...line }) + '\n')
}
