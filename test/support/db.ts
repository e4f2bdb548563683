import { migrate } from '../../schema/migrate.ts'
import { startNeonEndpoint } from '../../local/neon-endpoint.ts'
import { startPglite } from '../../local/postgres.ts'
import { createRealDatabase, realServicesMissing } from './services.ts'

export interface TestDatabase {
  kind: 'postgres' | 'pglite'
  /** For node-postgres and the migrator. */
  databaseUrl: string
  /** For the Neon driver: NEON_FETCH_ENDPOINT. */
  neonEndpoint: string
  close(): Promise<void>
}

/**
 * A fresh, migrated database behind the local Neon endpoint: a new database on the machine's real
 * PostgreSQL when there is one (or `want: 'postgres'`), embedded PGlite otherwise.
 * MCHAT_TEST_DB=pglite|postgres forces one.
 */
export async function startTestDatabase(
  want: 'auto' | 'postgres' | 'pglite' = (process.env.MCHAT_TEST_DB as 'postgres' | 'pglite' | undefined) ?? 'auto',
): Promise<TestDatabase> {
  const useReal = want === 'postgres' || (want === 'auto' && realServicesMissing('postgres') === null)
  let databaseUrl: string
  let release: () => Promise<void>
  if (useReal) {
    const db = await createRealDatabase()
    databaseUrl = db.url
    release = db.drop
  } else {
    const pg = await startPglite()
    databaseUrl = pg.url
    release = () => pg.close()
  }
  await migrate(databaseUrl)
  const ep = await startNeonEndpoint({ databaseUrl, maxConnections: useReal ? 10 : 1 })
  return {
    kind: useReal ? 'postgres' : 'pglite',
    databaseUrl,
    neonEndpoint: ep.url,
    close: async () => {
      await ep.close()
      await release()
    },
  }
}
