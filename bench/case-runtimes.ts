import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { freePort } from '../local/ports.ts'
import { ROOT, bin, start, type Server } from '../test/runtimes/process.ts'
import { buildWorkerBundle, workerdConfig, type WorkerBundle } from '../test/runtimes/workerd.ts'
import { denoBin, realServicesMissing } from '../test/support/services.ts'
import type { BenchContext, CaseResult, Measure } from './context.ts'
import { median, now, summarize } from './stats.ts'

const KiB = 1024
let bundled: { bundle: WorkerBundle; tmp: string } | undefined

/** The Cloudflare bundle, built once per run (size, and workerd's cold start). */
async function workerBundle(ctx: BenchContext): Promise<WorkerBundle> {
  if (bundled) return bundled.bundle
  const tmp = await mkdtemp(join(tmpdir(), 'mchat-bench-bundle-'))
  ctx.log('wrangler deploy --dry-run …')
  const bundle = await buildWorkerBundle(join(tmp, 'bundle'), join(tmp, 'wrangler-logs'))
  bundled = { bundle, tmp }
  process.once('exit', () => void rm(tmp, { recursive: true, force: true }))
  return bundle
}

/** The worker bundle as `wrangler deploy --dry-run` emits it from wrangler.toml. */
export async function runBundle(ctx: BenchContext): Promise<CaseResult> {
  const b = await workerBundle(ctx)
  ctx.log(`  ${(b.rawBytes / KiB).toFixed(1)} KiB, ${(b.gzipBytes / KiB).toFixed(1)} KiB gzip`)
  return {
    id: 'size',
    title: 'worker bundle (wrangler deploy --dry-run)',
    setup:
      'wrangler deploy --dry-run --outdir … with wrangler.toml as it is (minified); every emitted .js/.mjs summed, gzip at the default level.',
    measures: [],
    extra: { files: b.files, rawKiB: b.rawBytes / KiB, gzipKiB: b.gzipBytes / KiB },
  }
}

/**
 * Cold start: from spawning the runtime until the workers first answer GET /healthz (polled every
 * 2 ms), several times each. Node runs an esbuild bundle of workers/entry/node.ts (no TypeScript
 * loader in the way), Deno `deno serve workers/entry/deno.ts` as deno.json's task does, workerd
 * the wrangler bundle.
 */
export async function runColdStart(ctx: BenchContext): Promise<CaseResult> {
  const tries = ctx.quick ? 2 : 5
  const tmp = await mkdtemp(join(tmpdir(), 'mchat-bench-cold-'))
  const measures: Measure[] = []
  const notes: string[] = []
  try {
    const nodeBundle = join(tmp, 'node-worker.mjs')
    await build({
      entryPoints: [join(ROOT, 'workers/entry/node.ts')],
      outfile: nodeBundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      logLevel: 'error',
      // CommonJS dependencies inside an ES module bundle need a require().
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    })
    measures.push(
      await coldStarts(ctx, 'Node (esbuild bundle)', tries, async (port) =>
        start(process.execPath, [nodeBundle], {
          env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1' },
        }),
      ),
    )

    if (realServicesMissing('deno') === null) {
      const denoEnv = {
        PATH: process.env.PATH,
        DENO_DIR: join(tmp, 'deno-dir'),
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
      }
      const deno = (port: number) =>
        start(
          denoBin,
          [
            'serve',
            '--allow-net',
            '--allow-env',
            '--host',
            '127.0.0.1',
            '--port',
            String(port),
            'workers/entry/deno.ts',
          ],
          { env: denoEnv },
        )
      // The first start also fills Deno's module cache; it is reported apart from the rest.
      const first = await coldStarts(ctx, 'Deno, first start (empty DENO_DIR)', 1, deno)
      measures.push({ ...first, note: 'transpiles and caches the modules' })
      measures.push(await coldStarts(ctx, 'Deno (deno serve)', tries, deno))
    } else notes.push('Deno not runnable here: not measured')

    const b = await workerBundle(ctx)
    measures.push(
      await coldStarts(ctx, 'workerd (wrangler bundle)', tries, async (port) => {
        const config = await workerdConfig(b, port, {}, ['local'])
        return start(bin('workerd'), ['serve', config], { cwd: b.dir, env: { PATH: process.env.PATH } })
      }),
    )
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  return {
    id: 'cold',
    title: 'cold start of the workers',
    setup: `Spawn to the first 200 on GET /healthz, polled every 2 ms; ${tries} starts each, one at a time.`,
    measures,
    ...(notes.length ? { extra: { notes } } : {}),
  }
}

async function coldStarts(
  ctx: BenchContext,
  name: string,
  tries: number,
  spawn: (port: number) => Promise<Server> | Server,
): Promise<Measure> {
  const times: number[] = []
  for (let i = 0; i < tries; i++) {
    const port = await freePort()
    const t0 = now()
    const server = await spawn(port)
    try {
      times.push(await firstAnswer(`http://127.0.0.1:${port}/healthz`, server, t0))
    } finally {
      await server.stop()
    }
  }
  ctx.log(`  ${name}: median ${median(times).toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`)
  return { name, latency: summarize(times) }
}

async function firstAnswer(url: string, server: Server, t0: number): Promise<number> {
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null)
      throw new Error(`exited before ${url} answered:\n${server.output()}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      await res.body?.cancel()
      if (res.ok) return now() - t0
    } catch {
      // not listening yet
    }
    if (now() - t0 > 60_000) throw new Error(`${url} did not answer within 60 s:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}
