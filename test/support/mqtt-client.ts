import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { replyFilter, requestTopic } from '../../schema/index.ts'

export interface Received {
  topic: string
  payload: any
  at: number
}

export interface TestClient {
  client: MqttClient
  clientId: string
  received: Received[]
  /** Publishes a request and resolves with the reply taken from mchat/msg/resp/{client_id}/{seq_id}. */
  request(
    action: string,
    payload?: Record<string, unknown>,
    seqId?: string,
  ): Promise<{ code: number; message: string; data: any; seq_id?: string }>
  publishRaw(topic: string, payload: string | Buffer): Promise<void>
  /** Resolves with the first message (already received or future) on `topic` matching `pred`. */
  waitFor(topic: string, pred?: (p: any) => boolean, timeoutMs?: number): Promise<Received>
  subscribe(topic: string): Promise<void>
  end(): Promise<void>
}

let counter = 0

/** Connects and waits for CONNACK; sets TCP_NODELAY on every (re)connect, which MQTT.js does not. */
export async function connectMqtt(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts })
  client.on('connect', () => (client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new Error(`connection to ${url} closed before CONNACK`)))
  })
  return client
}

export async function connectClient(url: string, clientId: string, opts: IClientOptions = {}): Promise<TestClient> {
  const client = await connectMqtt(url, { clientId, protocolVersion: 4, ...opts })
  const received: Received[] = []
  const waiters: Array<{ topic: string; pred: (p: any) => boolean; resolve: (r: Received) => void }> = []
  client.on('message', (topic, buf) => {
    let payload: any
    try {
      payload = JSON.parse(buf.toString())
    } catch {
      payload = buf.toString()
    }
    const r = { topic, payload, at: performance.now() }
    received.push(r)
    for (const w of waiters.splice(0)) {
      if (w.topic === topic && w.pred(payload)) w.resolve(r)
      else waiters.push(w)
    }
  })
  await client.subscribeAsync(replyFilter(clientId), { qos: 1 })

  const waitFor: TestClient['waitFor'] = (topic, pred = () => true, timeoutMs = 10_000) => {
    const hit = received.find((r) => r.topic === topic && pred(r.payload))
    if (hit) return Promise.resolve(hit)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message on ${topic} within ${timeoutMs} ms`)), timeoutMs)
      waiters.push({ topic, pred, resolve: (r) => (clearTimeout(timer), resolve(r)) })
    })
  }

  return {
    client,
    clientId,
    received,
    async request(action, payload = {}, seqId = `t${Date.now().toString(36)}-${counter++}`) {
      const replyAt = `mchat/msg/resp/${clientId}/${seqId}`
      const reply = waitFor(replyAt)
      await client.publishAsync(requestTopic(clientId, seqId), JSON.stringify({ action, ...payload }), { qos: 1 })
      return (await reply).payload
    },
    async publishRaw(topic, payload) {
      await client.publishAsync(topic, payload, { qos: 1 })
    },
    waitFor,
    async subscribe(topic) {
      await client.subscribeAsync(topic, { qos: 1 })
    },
    end: () => client.endAsync(),
  }
}
