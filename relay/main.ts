import { relayConfigFromEnv } from './config.ts'
import { startRelay } from './relay.ts'

// `tsx relay/main.ts`: one relay instance configured from the environment (see README).
let config
try {
  config = relayConfigFromEnv()
} catch (err) {
  console.error(`relay: ${(err as Error).message}`)
  process.exit(2)
}
const relay = await startRelay(config)
await relay.ready
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.error(`relay: ${signal}, draining ${relay.inFlight()} request(s)`)
    relay.drain().then(() => process.exit(0))
  })
}
