import { fileURLToPath } from 'node:url'
import pg from 'pg'

/** Seed 000 §6.3: audit entries are kept at least 180 days; longer may be configured, never shorter. */
export const AUDIT_RETENTION_MIN_DAYS = 180
export const RETENTION_DEFAULTS = { auditDays: AUDIT_RETENTION_MIN_DAYS, replyDays: 7, challengeDays: 1 } as const

export interface Retention {
  /** audit_log entries older than this are deleted. */
  auditDays: number
  /** Stored replies (the exactly-once window): a retry later than this is treated as new. */
  replyDays: number
  /** Spent or expired challenges, kept this long after expiry for investigation. */
  challengeDays: number
}

export interface Purged {
  audit: number
  replies: number
  challenges: number
}

/** Deletes what is past its retention, in batches so a large backlog never holds long locks. */
export async function purge(
  databaseUrl: string,
  r: Retention = RETENTION_DEFAULTS,
  log: (line: string) => void = () => {},
): Promise<Purged> {
  checkRetention(r)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const batched = async (name: string, sql: string, days: number) => {
      let total = 0
      for (;;) {
        const { rowCount } = await client.query(sql, [days])
        total += rowCount ?? 0
        if (!rowCount) break
        log(`${name}: ${total} deleted so far`)
      }
      return total
    }
    const audit = await batched(
      'audit_log',
      `DELETE FROM audit_log WHERE audit_id IN (SELECT audit_id FROM audit_log WHERE ts < now() - make_interval(days => $1) LIMIT 10000)`,
      r.auditDays,
    )
    const replies = await batched(
      'request_reply',
      `DELETE FROM request_reply WHERE (client_id, seq_id) IN (
         SELECT client_id, seq_id FROM request_reply WHERE created_at < now() - make_interval(days => $1) LIMIT 10000)`,
      r.replyDays,
    )
    const challenges = await batched(
      'auth_challenge',
      `DELETE FROM auth_challenge WHERE challenge_id IN (
         SELECT challenge_id FROM auth_challenge WHERE expires_at < now() - make_interval(days => $1) LIMIT 10000)`,
      r.challengeDays,
    )
    return { audit, replies, challenges }
  } finally {
    await client.end()
  }
}

/** Refuses a retention that would delete audit entries the compliance rule says to keep. */
export function checkRetention(r: Retention): void {
  for (const [k, v] of Object.entries(r))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a whole number of days ≥ 1, got ${v}`)
  if (r.auditDays < AUDIT_RETENTION_MIN_DAYS)
    throw new Error(
      `AUDIT_RETENTION_DAYS must be at least ${AUDIT_RETENTION_MIN_DAYS} (audit entries are kept 180 days), got ${r.auditDays}`,
    )
}

function days(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of days ≥ 1, got "${raw}"`)
  return n
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error('db:purge: set DATABASE_URL to the PostgreSQL to purge')
    process.exit(2)
  }
  try {
    const retention: Retention = {
      auditDays: days('AUDIT_RETENTION_DAYS', RETENTION_DEFAULTS.auditDays),
      replyDays: days('REPLY_RETENTION_DAYS', RETENTION_DEFAULTS.replyDays),
      challengeDays: days('CHALLENGE_RETENTION_DAYS', RETENTION_DEFAULTS.challengeDays),
    }
    checkRetention(retention)
    console.log(
      `db:purge: audit_log older than ${retention.auditDays} d, request_reply older than ${retention.replyDays} d, challenges expired ${retention.challengeDays} d ago`,
    )
    purge(url, retention, (l) => console.log(`db:purge: ${l}`)).then(
      (p) =>
        console.log(
          `db:purge: deleted ${p.audit} audit entries, ${p.replies} stored replies, ${p.challenges} challenges`,
        ),
      (err: Error) => {
        console.error(`db:purge: ${err.message}`)
        process.exit(1)
      },
    )
  } catch (err) {
    console.error(`db:purge: ${(err as Error).message}`)
    process.exit(2)
  }
}
