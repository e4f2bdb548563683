import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSystem, type System, type SystemOptions } from '../../local/start.ts'
import { startMosquitto } from './mosquitto.ts'
import { createRealDatabase, realRedisUrl, realServicesMissing } from './services.ts'

export interface TestSystem extends System {
  kind: 'real' | 'embedded'
  /** Where admin.json and keys.json are. */
  dataDir: string
  close(): Promise<void>
}

/**
 * The whole system for end-to-end tests over MQTT: real Mosquitto, PostgreSQL and Redis when the
 * machine has them (always in CI), the embedded defaults otherwise. MCHAT_TEST_SYSTEM=embedded
 * forces the embedded defaults.
 */
export async function startTestSystem(extra: Partial<SystemOptions> = {}): Promise<TestSystem> {
  const dir = await mkdtemp(join(tmpdir(), 'mchat-sys-'))
  const base = { dataDir: dir, host: '127.0.0.1', publicHost: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: 0, info: () => {} }
  const cleanups: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })]
  const close = async () => {
    for (const c of cleanups.reverse()) await c()
  }
  try {
    if (process.env.MCHAT_TEST_SYSTEM !== 'embedded' && realServicesMissing('postgres', 'mosquitto', 'redis') === null) {
      // Fan-outs of 2,000 notices must not hit Mosquitto's default queue of 1,000 per client.
      const mosquitto = await startMosquitto({ extraConfig: ['max_queued_messages 100000'] })
      cleanups.push(() => mosquitto.stop())
      const db = await createRealDatabase()
      cleanups.push(() => db.drop())
      const system = await startSystem({ ...base, databaseUrl: db.url, mqttUrl: mosquitto.url, redisUrl: realRedisUrl, shareGroup: 'gateway', ...extra })
      cleanups.push(() => system.stop())
      return { ...system, kind: 'real', dataDir: dir, close }
    }
    const system = await startSystem({ ...base, ...extra })
    cleanups.push(() => system.stop())
    return { ...system, kind: 'embedded', dataDir: dir, close }
  } catch (err) {
    await close()
    throw err
  }
}
