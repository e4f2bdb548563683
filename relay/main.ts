import { relayConfigFromEnv } from './config.ts'
import { startRelay } from './relay.ts'
import { createRelayMetrics } from './metrics.ts'
import { startOpsServer } from './ops-server.ts'
import { followRouteFile, readRouteFile, RouteSource } from './route-source.ts'

// `tsx relay/main.ts`: one relay instance configured from the environment (see README).
let config
try {
  config = relayConfigFromEnv()
} catch (err) {
  console.error(`relay: ${(err as Error).message}`)
  process.exit(2)
}
const info = (m: string) => console.error(`relay: ${m}`)
let routes: RouteSource | undefined
if (config.routesFile) {
  try {
    routes = new RouteSource(await readRouteFile(config.routesFile))
  } catch (err) {
    console.error(`relay: ${(err as Error).message}`)
    process.exit(2)
  }
  routes.onChange((_t, why) => info(`routes reloaded (${why})`))
  followRouteFile(config.routesFile, routes, info)
}
const metrics = createRelayMetrics({ relay: config.clientId })
const relay = await startRelay(config, { info, metrics, ...(routes ? { routes } : {}) })
if (config.opsPort !== undefined) {
  const ops = await startOpsServer({ host: config.opsHost, port: config.opsPort, metrics, ready: relay.isReady })
  info(`metrics and health on ${ops.url}`)
}
// Before waiting for the broker: a relay stopped while the broker is unreachable still ends cleanly.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.error(`relay: ${signal}, draining ${relay.inFlight()} request(s)`)
    relay.drain().then(() => process.exit(0))
  })
}
await relay.ready
