import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Bindings } from '../../workers/env.ts'
import { ROOT, bin, run } from './process.ts'

/** Shared by the workerd tests and the benchmarks (bench/): bundle the workers, serve them in workerd. */

export interface WorkerBundle {
  dir: string
  /** The main module's file name (wrangler names it after wrangler.toml's `main`). */
  main: string
  files: string[]
  rawBytes: number
  gzipBytes: number
  /** How long the dry run took. */
  ms: number
}

/**
 * `wrangler deploy --dry-run --outdir <outdir>`: the bundle Cloudflare would get, built offline.
 * Throws with wrangler's output when it fails.
 */
export async function buildWorkerBundle(outdir: string, logDir: string): Promise<WorkerBundle> {
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    CI: 'true',
    WRANGLER_HIDE_BANNER: 'true',
    WRANGLER_LOG_PATH: logDir,
    NO_COLOR: '1',
  }
  const r = await run(process.execPath, [bin('wrangler'), 'deploy', '--dry-run', '--outdir', outdir], {
    env,
    timeoutMs: 110_000,
  })
  if (r.code !== 0) throw new Error(`wrangler failed:\n${r.stdout}\n${r.stderr}`)
  const files = (await readdir(outdir)).filter((f) => /\.m?js$/.test(f))
  let rawBytes = 0
  let gzipBytes = 0
  for (const f of files) {
    const bytes = await readFile(join(outdir, f))
    rawBytes += bytes.length
    gzipBytes += gzipSync(bytes).length
  }
  return { dir: outdir, main: 'cloudflare.js', files, rawBytes, gzipBytes, ms: r.ms }
}

/** compatibility_date / compatibility_flags exactly as wrangler.toml declares them. */
export async function compatibility(): Promise<{ date: string; flags: string[] }> {
  const toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8')
  const date = /^\s*compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1]
  if (!date) throw new Error('wrangler.toml has no compatibility_date')
  const flags = /^\s*compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1]
  return { date, flags: [...(flags ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!) }
}

/**
 * A workerd config serving the bundle on 127.0.0.1:port with `env` as text bindings. All outbound
 * fetch() goes through a network service allowing `allow` (workerd's default "internet" service
 * allows only public addresses, so the local Neon endpoint on 127.0.0.1 needs "local").
 */
export async function workerdConfig(
  bundle: { dir: string; main: string },
  port: number,
  env: Partial<Bindings>,
  allow: string[],
): Promise<string> {
  const { date, flags } = await compatibility()
  const q = (s: string): string => JSON.stringify(s) // JSON string escapes are valid Cap'n Proto text escapes
  const bindings = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `(name = ${q(k)}, text = ${q(String(v))})`)
  const file = join(bundle.dir, `workerd-${port}.capnp`)
  await writeFile(
    file,
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "outbound", network = (allow = [${allow.map(q).join(', ')}])),
  ],
  sockets = [ (name = "http", address = ${q(`127.0.0.1:${port}`)}, http = (), service = "main") ],
);

const mainWorker :Workerd.Worker = (
  modules = [ (name = ${q(bundle.main)}, esModule = embed ${q(bundle.main)}) ],
  compatibilityDate = ${q(date)},
  compatibilityFlags = [${flags.map(q).join(', ')}],
  bindings = [
    ${bindings.join(',\n    ')}
  ],
  globalOutbound = "outbound",
);
`,
    { mode: 0o600 },
  )
  return file
}
