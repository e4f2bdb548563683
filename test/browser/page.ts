// The browser side of sdk.browser.test.ts: bundled with esbuild (platform browser) and loaded
// as a module by a page. It drives the SDK exactly as an application would and records what the
// client announces; the test calls into it through `globalThis.mchat`.
import type { MqttConnection } from '../../schema/index.ts'
import {
  connect,
  IndexedDbHistory,
  type HistoryMessage,
  type HistoryPage,
  type MChatClient,
  type Presence,
} from '../../sdk/index.ts'

export interface Harness {
  /** Opens IndexedDB history `dbName` and connects over MQTT-over-WebSocket; resolves with the client id. */
  start(
    conn: MqttConnection,
    wsUrl: string,
    dbName: string,
  ): Promise<{ clientId: string; connected: boolean; indexedDbHistory: boolean }>
  sendPrivate(to: string, content: string): Promise<{ msg_id: string; sent_at: string }>
  /** What the client announced as `message` events so far. */
  messages(): HistoryMessage[]
  /** Errors the client emitted so far (messages only). */
  errors(): string[]
  history(conversation: string): Promise<HistoryPage>
  presence(employeeId: string): Promise<Presence | null>
  /** Where the browser's WebSocket went (MQTT.js's transport, seen from the page). */
  transport(): string
  close(): Promise<void>
}

let client: MChatClient | null = null
const received: HistoryMessage[] = []
const errors: string[] = []
const log = (line: string) => {
  const li = document.createElement('li')
  li.textContent = line
  document.getElementById('log')?.append(li)
}

const need = (): MChatClient => {
  if (!client) throw new Error('start() first')
  return client
}

const harness: Harness = {
  async start(conn, wsUrl, dbName) {
    const history = await IndexedDbHistory.open(dbName)
    client = await connect(conn, { deviceId: 'browser', url: wsUrl, history })
    client.on('message', (m) => {
      received.push(m)
      // What this employee sent (here or on another device) is shown when sent, not as news.
      if (m.from_employee_id === client?.employeeId) return
      log(`← ${m.from_employee_id}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`)
    })
    client.on('error', (e) => errors.push(e.message))
    log(`connected as ${client.clientId} over ${wsUrl}`)
    return {
      clientId: client.clientId,
      connected: client.connected,
      indexedDbHistory: client.history instanceof IndexedDbHistory,
    }
  },
  async sendPrivate(to, content) {
    const { msg_id, sent_at } = await need().sendPrivate(to, content)
    log(`→ ${to}: ${content}`)
    return { msg_id, sent_at }
  },
  messages: () => [...received],
  errors: () => [...errors],
  history: (conversation) => need().history.page(conversation),
  presence: (employeeId) => need().presence(employeeId, 2000),
  transport: () => {
    const stream = need().mqtt.stream as unknown as { socket?: WebSocket }
    return stream.socket instanceof WebSocket
      ? `WebSocket ${stream.socket.url} (${stream.socket.protocol})`
      : typeof stream
  },
  async close() {
    await client?.close()
    client = null
  },
}

;(globalThis as unknown as { mchat: Harness }).mchat = harness
