import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless'
import type { Bindings } from '../env.ts'

export type Sql = NeonQueryFunction<false, false>

/**
 * A Neon HTTP query function for one request (DESIGN contract 8: nothing at module scope).
 * `neon()` only captures the connection string; each query is its own HTTP call.
 */
export function openDb(env: Bindings): Sql {
  // fetchEndpoint is global-only in the driver; the binding is the same on every request.
  if (env.NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = env.NEON_FETCH_ENDPOINT
  return neon(env.DATABASE_URL)
}
