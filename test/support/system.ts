import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSystem, type System, type SystemOptions } from '../../local/start.ts'
import { startMosquitto } from './mosquitto.ts'
import { createRealDatabase, realRedisUrl, realServicesMissing } from './services.ts'

export interface TestSystem extends System {
  kind: 'real' | 'embedded'
  /** The broker checks logins and the ACL through the workers' hooks (the embedded broker does). */
  brokerEnforces: boolean
  /** Where admin.json and keys.json are. */
  dataDir: string
  close(): Promise<void>
}

/**
 * The whole system for end-to-end tests over MQTT: real Mosquitto, PostgreSQL and Redis when the
 * machine has them (always in CI), the embedded defaults otherwise. MCHAT_TEST_SYSTEM=embedded
 * forces the embedded defaults. `broker: 'embedded'` keeps real PostgreSQL and Redis but uses the
 * embedded broker, the one that enforces the broker hooks.
 */
export async function startTestSystem(
  extra: Partial<SystemOptions> & { broker?: 'embedded' } = {},
): Promise<TestSystem> {
  const { broker, ...rest } = extra
  // Every test system has employee "admin": on one shared Redis, a common key prefix would make
  // parallel test files spend each other's rate-limit budget.
  const options = {
    ...rest,
    bindings: {
      RATE_LIMIT_PREFIX: `mchat-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      ...rest.bindings,
    },
  }
  const dir = await mkdtemp(join(tmpdir(), 'mchat-sys-'))
  const base = {
    dataDir: dir,
    host: '127.0.0.1',
    publicHost: '127.0.0.1',
    mqttPort: 0,
    wsPort: null,
    httpPort: 0,
    info: () => {},
  }
  const cleanups: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })]
  const close = async () => {
    for (const c of cleanups.reverse()) await c()
  }
  try {
    if (
      process.env.MCHAT_TEST_SYSTEM !== 'embedded' &&
      realServicesMissing('postgres', 'mosquitto', 'redis') === null
    ) {
      const db = await createRealDatabase()
      cleanups.push(() => db.drop())
      if (broker === 'embedded') {
        // The embedded broker enforces the broker hooks; Mosquitto without a plugin cannot call them.
        const system = await startSystem({ ...base, databaseUrl: db.url, redisUrl: realRedisUrl, ...options })
        cleanups.push(() => system.stop())
        return { ...system, kind: 'real', brokerEnforces: options.brokerAuth !== false, dataDir: dir, close }
      }
      // Fan-outs of 2,000 notices must not hit Mosquitto's default queue of 1,000 per client, and the
      // relay's window of unacknowledged requests must be its MCHAT_MAX_IN_FLIGHT, not Mosquitto's 20
      // (docs/operations.md).
      const mosquitto = await startMosquitto({
        extraConfig: ['max_queued_messages 100000', 'max_inflight_messages 256'],
      })
      cleanups.push(() => mosquitto.stop())
      const system = await startSystem({
        ...base,
        databaseUrl: db.url,
        mqttUrl: mosquitto.url,
        redisUrl: realRedisUrl,
        shareGroup: 'gateway',
        ...options,
      })
      cleanups.push(() => system.stop())
      return { ...system, kind: 'real', brokerEnforces: false, dataDir: dir, close }
    }
    const system = await startSystem({ ...base, ...options })
    cleanups.push(() => system.stop())
    return { ...system, kind: 'embedded', brokerEnforces: options.brokerAuth !== false, dataDir: dir, close }
  } catch (err) {
    await close()
    throw err
  }
}
