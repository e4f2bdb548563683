import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Socket } from 'node:net'
import mqtt from 'mqtt'
import type { IClientOptions, MqttClient } from 'mqtt'
import { startMosquitto } from './mosquitto.ts'
import type { MosquittoProcess } from './mosquitto.ts'
import { realServicesMissing } from './services.ts'

async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts })
  ;(client.stream as Partial<Socket>).setNoDelay?.(true)
  return client
}

/** Processes whose command line mentions `needle` (pgrep -f); empty when none. */
function processesMatching(needle: string): string[] {
  const r = spawnSync('pgrep', ['-f', needle], { encoding: 'utf8' })
  return r.stdout.split('\n').filter(Boolean)
}

describe.skipIf(realServicesMissing('mosquitto'))('startMosquitto', () => {
  let broker: MosquittoProcess
  const clients: MqttClient[] = []
  const open = async (opts?: IClientOptions): Promise<MqttClient> => {
    const c = await connect(broker.url, opts)
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await broker?.stop()
  })

  it('runs on its own port with its own config', () => {
    expect(broker.port).not.toBe(1883)
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`)
    expect(processesMatching(broker.configPath)).toHaveLength(1)
    expect(broker.logs()).toMatch(/mosquitto version 2\./)
  })

  it('delivers QoS 1 pub/sub', async () => {
    const sub = await open()
    const pub = await open()
    await sub.subscribeAsync('t/plain', { qos: 1 })
    const got = new Promise<string>((resolve) => sub.once('message', (_t, payload) => resolve(payload.toString())))
    await pub.publishAsync('t/plain', 'hello', { qos: 1 })
    expect(await got).toBe('hello')
  })

  it('splits a $share group across its subscribers, each message exactly once', async () => {
    const received: string[][] = [[], []]
    const subs = [await open(), await open()]
    for (const [i, sub] of subs.entries()) {
      sub.on('message', (_t, payload) => received[i]!.push(payload.toString()))
      await sub.subscribeAsync('$share/g/t/+', { qos: 1 })
    }
    const pub = await open()
    const sent = Array.from({ length: 10 }, (_, i) => `m${i}`)
    for (const [i, m] of sent.entries()) await pub.publishAsync(`t/${i}`, m, { qos: 1 })

    await expect.poll(() => received[0]!.length + received[1]!.length, { timeout: 5_000 }).toBe(10)
    expect([...received[0]!, ...received[1]!].sort()).toEqual([...sent].sort())
    expect(received[0]!.length).toBeGreaterThan(0)
    expect(received[1]!.length).toBeGreaterThan(0)
  })

  it('passes extraConfig through and stop() leaves no process or temp dir', async () => {
    const extra = await startMosquitto({ extraConfig: ['max_keepalive 120'] })
    expect(readFileSync(extra.configPath, 'utf8')).toMatch(/^max_keepalive 120$/m)
    const c = await connect(extra.url)
    await c.endAsync()
    expect(processesMatching(extra.configPath)).toHaveLength(1)
    await extra.stop()
    expect(processesMatching(extra.configPath)).toEqual([])
    expect(existsSync(dirname(extra.configPath))).toBe(false)
  })

  it('rejects with the log tail when mosquitto cannot start', async () => {
    await expect(startMosquitto({ extraConfig: ['no_such_option true'] })).rejects.toThrow(/no_such_option/)
  })
})
