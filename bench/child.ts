import * as fanout from './fanout.ts'
import * as load from './load.ts'
import { serveNoop } from './noop-worker.ts'
import { startProfile, stopProfile } from './profile.ts'

/**
 * A child process of the benchmark (forked by procs.ts): the load generator, group members'
 * devices, or the no-op worker, driven by messages from the parent.
 */

type Handler = (args: any) => unknown
let worker: Awaited<ReturnType<typeof serveNoop>> | undefined

const handlers: Record<string, Handler> = {
  'load.connect': (a: { url: string; clients: load.LoadClientSpec[] }) => load.connect(a.url, a.clients),
  'load.sequential': load.sequential,
  'load.closed': load.closed,
  'load.open': load.open,
  'load.request': load.request,
  'fanout.connect': fanout.connectSubscribers,
  'fanout.arrivals': (a: { msgId: string }) => fanout.arrivals(a.msgId),
  'worker.start': async () => (worker ??= await serveNoop()).url,
  cpu: () => process.cpuUsage(),
  'profile.start': startProfile,
  'profile.stop': (a: { file: string }) => stopProfile(a.file),
  stop: async () => {
    await load.disconnect()
    await fanout.disconnectSubscribers()
    await worker?.close()
    setImmediate(() => process.exit(0))
  },
}

fanout.onComplete((e) => process.send!({ event: 'fanout.complete', data: e }))

process.on('message', (m: { id: number; cmd: string; args: unknown }) => {
  const handler = handlers[m.cmd]
  Promise.resolve()
    .then(() => {
      if (!handler) throw new Error(`unknown command ${m.cmd}`)
      return handler(m.args)
    })
    .then(
      (result) => process.send!({ id: m.id, ok: true, result }),
      (err: Error) => process.send!({ id: m.id, ok: false, error: err.stack ?? err.message }),
    )
})
// The parent going away must not leave 2,000 connections behind.
process.on('disconnect', () => process.exit(0))
process.send!({ event: 'ready' })
