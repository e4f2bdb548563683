import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

/**
 * Real-service tests run when the service is present. With MCHAT_REQUIRE_SERVICES=1 (CI) a
 * missing service is a failure, never a skip; without it the tests are reported as skipped.
 */
export const requireServices = process.env.MCHAT_REQUIRE_SERVICES === '1'

/** Admin connection to the machine's real PostgreSQL (a database named `postgres` on it). */
export const realPgAdminUrl = process.env.MCHAT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** The machine's real Redis (no password unless the URL carries one). */
export const realRedisUrl = process.env.MCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export const mosquittoBin = process.env.MCHAT_MOSQUITTO_BIN ?? 'mosquitto'

function probePostgres(): string | null {
  // Synchronous probe so describe.skipIf can use it at collection time.
  const script = `const pg=require('pg');const c=new pg.Client({connectionString:process.argv[1],connectionTimeoutMillis:2000});c.connect().then(()=>c.query('select 1')).then(()=>c.end()).then(()=>process.exit(0),e=>{console.error(e.message);process.exit(1)})`
  const r = spawnSync(process.execPath, ['-e', script, realPgAdminUrl], { encoding: 'utf8', timeout: 5000 })
  return r.status === 0
    ? null
    : `PostgreSQL not reachable at ${redact(realPgAdminUrl)}: ${(r.stderr || 'timeout').trim()}`
}

function probeRedis(): string | null {
  const script = `const R=require('ioredis');let why='';const r=new R(process.argv[1],{lazyConnect:true,connectTimeout:2000,maxRetriesPerRequest:0,retryStrategy:()=>null});r.on('error',e=>{why=e.message});r.connect().then(()=>r.ping()).then(()=>{r.disconnect();process.exit(0)},e=>{console.error(why||e.message);process.exit(1)})`
  const r = spawnSync(process.execPath, ['-e', script, realRedisUrl], { encoding: 'utf8', timeout: 5000 })
  return r.status === 0 ? null : `Redis not reachable at ${redact(realRedisUrl)}: ${(r.stderr || 'timeout').trim()}`
}

function probeMosquitto(): string | null {
  const r = spawnSync(mosquittoBin, ['-h'], { encoding: 'utf8', timeout: 5000 })
  // mosquitto -h prints usage and exits 3; a missing binary gives error ENOENT.
  return r.error ? `mosquitto binary not found (${mosquittoBin})` : null
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

/**
 * Deno: MCHAT_DENO_BIN, else the binary npm installs on linux-x64 (the optional dependency
 * @deno/linux-x64-glibc), else `deno` on PATH.
 */
export const denoBin: string = (() => {
  if (process.env.MCHAT_DENO_BIN) return process.env.MCHAT_DENO_BIN
  const fromNpm = fileURLToPath(new URL('../../node_modules/@deno/linux-x64-glibc/deno', import.meta.url))
  return existsSync(fromNpm) ? fromNpm : 'deno'
})()

function probeDeno(): string | null {
  const r = spawnSync(denoBin, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  return r.status === 0 ? null : `deno not runnable (${denoBin})`
}

/** Chromium for the browser tests: MCHAT_CHROMIUM_BIN, else Debian's package. */
export const chromiumBin = process.env.MCHAT_CHROMIUM_BIN ?? '/usr/bin/chromium'

function probeChromium(): string | null {
  const r = spawnSync(chromiumBin, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  return r.status === 0 ? null : `chromium not runnable (${chromiumBin})`
}

const missing = {
  postgres: probePostgres(),
  mosquitto: probeMosquitto(),
  deno: probeDeno(),
  redis: probeRedis(),
  chromium: probeChromium(),
}

/** Why real-service tests cannot run here, or null when they can. Throws under MCHAT_REQUIRE_SERVICES=1. */
export function realServicesMissing(...which: Array<keyof typeof missing>): string | null {
  const reasons = which.map((w) => missing[w]).filter((r): r is string => r !== null)
  if (reasons.length === 0) return null
  if (requireServices) throw new Error(`MCHAT_REQUIRE_SERVICES=1 but: ${reasons.join('; ')}`)
  console.warn(`[real-service tests not run] ${reasons.join('; ')}`)
  return reasons.join('; ')
}

/** Creates a fresh database on the real PostgreSQL and returns its URL and a dropper. */
export async function createRealDatabase(prefix = 'mchat_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: realPgAdminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(realPgAdminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: realPgAdminUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}
