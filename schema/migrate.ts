import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
// Any constant works; it only has to be the same for every migrator of this schema.
const LOCK_KEY = 72638110

/**
 * Applies schema/migrations/*.sql in name order, each once, each in its own transaction.
 * Safe to run concurrently and repeatedly: an advisory lock serialises migrators and
 * schema_migrations records what is applied.
 */
export async function migrate(databaseUrl: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const applied: string[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    )
    const done = new Set(
      (await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    )
    for (const file of files) {
      if (done.has(file)) continue
      const sql = await readFile(MIGRATIONS_DIR + file, 'utf8')
      await client.query('BEGIN')
      try {
        await client.query(sql)
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK')
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err })
      }
      applied.push(file)
      log(`applied ${file}`)
    }
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY])
  } finally {
    await client.end()
  }
  return applied
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error(
      'db:migrate: set DATABASE_URL to the PostgreSQL to migrate (npm start migrates its embedded database itself)',
    )
    process.exit(2)
  }
  migrate(url, (l) => console.log(`db:migrate: ${l}`)).then(
    (applied) => console.log(`db:migrate: ${applied.length === 0 ? 'up to date' : `${applied.length} applied`}`),
    (err: Error) => {
      console.error(`db:migrate: ${err.message}`)
      process.exit(1)
    },
  )
}
