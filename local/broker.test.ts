import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest'
import { spawn } from 'node:child_process'
import net from 'node:net'
import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import type { IClientOptions, MqttClient } from 'mqtt'
import WebSocket from 'ws'
import { startEmbeddedBroker } from './broker.ts'
import type { EmbeddedBroker } from './broker.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'

const projectRoot = fileURLToPath(new URL('..', import.meta.url))
const unique = (name: string): string => `${name}-${Math.random().toString(36).slice(2, 10)}`

const connect = connectMqtt

function nextMessage(client: MqttClient, topic: string): Promise<{ payload: string; retain: boolean }> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: mqtt.IPublishPacket): void => {
      if (t !== topic) return
      client.off('message', onMessage)
      resolve({ payload: payload.toString(), retain: packet.retain })
    }
    client.on('message', onMessage)
  })
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => (s.destroy(), resolve(false)))
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

describe('embedded broker', () => {
  let broker: EmbeddedBroker
  const clients: MqttClient[] = []
  const open = async (url: string, opts?: IClientOptions): Promise<MqttClient> => {
    const c = await connect(url, opts)
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ mqttPort: 0, wsPort: 0 })
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await broker.close()
  })

  it('reports its urls', () => {
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.mqttPort}`)
    expect(broker.wsUrl).toBe(`ws://127.0.0.1:${broker.wsPort}/mqtt`)
  })

  it('delivers QoS 1 over TCP', async () => {
    const topic = unique('t/tcp')
    const sub = await open(broker.url)
    const pub = await open(broker.url)
    const granted = await sub.subscribeAsync(topic, { qos: 1 })
    expect(granted[0]?.qos).toBe(1)
    const got = nextMessage(sub, topic)
    await pub.publishAsync(topic, 'hello', { qos: 1 })
    expect((await got).payload).toBe('hello')
  })

  it('delivers QoS 1 from a WebSocket client to a TCP subscriber', async () => {
    const topic = unique('t/ws')
    const sub = await open(broker.url)
    const pub = await open(broker.wsUrl!)
    await sub.subscribeAsync(topic, { qos: 1 })
    const got = nextMessage(sub, topic)
    await pub.publishAsync(topic, 'over ws', { qos: 1 })
    expect((await got).payload).toBe('over ws')
  })

  it('answers with the mqtt WebSocket subprotocol and only on /mqtt', async () => {
    const ws = new WebSocket(broker.wsUrl!, ['mqtt'])
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
    expect(ws.protocol).toBe('mqtt')
    ws.close()
    const wrongPath = new WebSocket(`ws://127.0.0.1:${broker.wsPort}/other`, ['mqtt'])
    await expect(new Promise((_, reject) => wrongPath.once('error', reject))).rejects.toThrow(/400/)
  })

  it('sets TCP_NODELAY on every accepted socket, TCP and WebSocket', async () => {
    const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay')
    try {
      for (const [url, port] of [
        [broker.url, broker.mqttPort],
        [broker.wsUrl!, broker.wsPort!],
      ] as const) {
        spy.mockClear()
        await open(url)
        // The broker's side of this connection is the socket whose local port is the listener's.
        const i = spy.mock.contexts.findIndex((s) => (s as Socket).localPort === port)
        expect(i, url).toBeGreaterThanOrEqual(0)
        expect(spy.mock.calls[i]![0], url).toBe(true)
      }
    } finally {
      spy.mockRestore()
    }
  })

  it('gives a retained message to a late subscriber', async () => {
    const topic = unique('t/retained')
    const pub = await open(broker.url)
    await pub.publishAsync(topic, 'kept', { qos: 1, retain: true })
    const late = await open(broker.url)
    const got = nextMessage(late, topic)
    await late.subscribeAsync(topic, { qos: 1 })
    expect(await got).toEqual({ payload: 'kept', retain: true })
  })

  it('queues QoS 1 messages for an offline persistent session', async () => {
    const topic = unique('t/session')
    const clientId = unique('persist')
    const first = await connect(broker.url, { clientId, clean: false })
    await first.subscribeAsync(topic, { qos: 1 })
    await first.endAsync()

    const pub = await open(broker.url)
    await pub.publishAsync(topic, 'while offline', { qos: 1 })

    // Registered before CONNACK: the queued message may arrive right after it.
    const again = mqtt.connect(broker.url, { clientId, clean: false, reconnectPeriod: 0 })
    clients.push(again)
    const got = nextMessage(again, topic)
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => again.once('connect', resolve))
    expect(connack.sessionPresent).toBe(true)
    expect((await got).payload).toBe('while offline')
  })

  it('publishes the last will when a client socket dies', async () => {
    const topic = unique('t/will')
    const watcher = await open(broker.url)
    await watcher.subscribeAsync(topic, { qos: 1 })
    const victim = await connect(broker.url, { will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } })
    const got = nextMessage(watcher, topic)
    ;(victim.stream as Socket).destroy()
    expect((await got).payload).toBe('gone')
    await victim.endAsync(true)
  })
})

describe('embedded broker lifecycle', () => {
  it('reports a taken port in one clear line and releases what it already opened', async () => {
    const first = await startEmbeddedBroker({ mqttPort: 0, wsPort: 0 })
    try {
      await expect(startEmbeddedBroker({ mqttPort: first.mqttPort })).rejects.toThrow(
        new Error(`MQTT: port ${first.mqttPort} on 127.0.0.1 is already in use`),
      )
      const probe = await startEmbeddedBroker({ mqttPort: 0 })
      const freedPort = probe.mqttPort
      await probe.close()
      await expect(startEmbeddedBroker({ mqttPort: freedPort, wsPort: first.wsPort })).rejects.toThrow(
        new Error(`MQTT over WebSocket: port ${first.wsPort} on 127.0.0.1 is already in use`),
      )
      // The failed start must have closed its TCP listener again.
      expect(await refused(freedPort)).toBe(true)
    } finally {
      await first.close()
    }
  })

  it('close() drops clients and listeners', async () => {
    const broker = await startEmbeddedBroker({ mqttPort: 0, wsPort: 0 })
    const tcp = await connect(broker.url)
    const ws = await connect(broker.wsUrl!)
    const halfOpen = net.connect(broker.mqttPort, '127.0.0.1')
    await new Promise((resolve) => halfOpen.once('connect', resolve))
    const closed = [tcp, ws].map((c) => new Promise<void>((resolve) => c.once('close', () => resolve())))
    const halfOpenClosed = new Promise((resolve) => halfOpen.once('close', resolve))

    await broker.close()
    await Promise.all([...closed, halfOpenClosed])
    expect(await refused(broker.mqttPort)).toBe(true)
    expect(await refused(broker.wsPort!)).toBe(true)
    await broker.close() // idempotent
    await Promise.all([tcp.endAsync(true), ws.endAsync(true)])
  })

  it('lets the process exit after close()', async () => {
    // A separate process is the only reliable witness that no handle or timer is left behind.
    const script = `
      import net from 'node:net'
      import mqtt from 'mqtt'
      import { startEmbeddedBroker } from './local/broker.ts'
      const broker = await startEmbeddedBroker({ mqttPort: 0, wsPort: 0 })
      const up = (url) => new Promise((resolve, reject) => {
        const c = mqtt.connect(url, { reconnectPeriod: 0 })
        c.once('connect', () => resolve(c)); c.once('error', reject)
      })
      await up(broker.url)
      await up(broker.wsUrl)
      net.connect(broker.mqttPort, '127.0.0.1').on('error', () => {})
      await new Promise((r) => setTimeout(r, 50))
      await broker.close()
      console.log('closed')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    )
    clearTimeout(timer)
    expect({ code, signal, output: output.trim() }).toEqual({ code: 0, signal: null, output: 'closed' })
  })
})
