import net from 'node:net'
import http from 'node:http'
import type { Socket } from 'node:net'
import { Aedes } from 'aedes'
import type { AedesOptions } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { listen } from './ports.ts'

export interface EmbeddedBroker {
  /** For the management API (local/broker-api.ts). */
  aedes: Aedes
  mqttPort: number
  wsPort: number | null
  /** mqtt://127.0.0.1:PORT */
  url: string
  /** ws://127.0.0.1:PORT/mqtt, or null without a WebSocket listener */
  wsUrl: string | null
  /** Closes listeners, every client connection and aedes, so the process can exit. Idempotent. */
  close(): Promise<void>
}

/** Aedes hooks, passed through unchanged (local/broker-hooks.ts asks the workers' broker hooks). */
export type BrokerHooks = Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>

export interface EmbeddedBrokerOptions {
  /** default 127.0.0.1 */
  host?: string | undefined
  /** 0 = ephemeral */
  mqttPort: number
  /** null/undefined = no WebSocket listener */
  wsPort?: number | null
  hooks?: BrokerHooks | undefined
}

/** MQTT.js in browsers connects to this path by default. */
const WS_PATH = '/mqtt'

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1'
  const aedes = await Aedes.createBroker(aedesOptions(opts.hooks))

  // aedes.close() only knows clients that completed CONNECT; half-open sockets would keep
  // server.close() (and the process) waiting, so every accepted socket is tracked.
  const sockets = new Set<Socket>()
  const accept = (socket: Socket): void => {
    // Without NODELAY every request/response round trip pays ~40-88 ms of Nagle + delayed ACK.
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }

  const tcpServer = net.createServer((socket) => aedes.handle(socket))
  tcpServer.on('connection', accept)
  let httpServer: http.Server | null = null
  let wss: WebSocketServer | null = null

  const shutdown = async (): Promise<void> => {
    const closing = [tcpServer, httpServer]
      .filter((s): s is http.Server | net.Server => s?.listening === true)
      .map(closeServer)
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    wss?.close()
    for (const socket of sockets) socket.destroy()
    await Promise.all(closing)
  }

  try {
    const mqttPort = await listen(tcpServer, opts.mqttPort, host, 'MQTT')
    let wsPort: number | null = null
    if (opts.wsPort !== null && opts.wsPort !== undefined) {
      httpServer = http.createServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end(`MQTT over WebSocket: connect to ${WS_PATH}\n`)
      })
      httpServer.on('connection', accept)
      wsPort = await listen(httpServer, opts.wsPort, host, 'MQTT over WebSocket')
      // Created only after listen() succeeded, because ws re-emits the http server's errors on
      // itself and would turn EADDRINUSE into an unhandled 'error'; listen() already reported it.
      wss = new WebSocketServer({ server: httpServer, path: WS_PATH, handleProtocols: pickMqttProtocol })
      wss.on('error', () => {})
      wss.on('connection', (socket, req) => {
        aedes.handle(createWebSocketStream(socket), req)
      })
    }
    let closed: Promise<void> | null = null
    return {
      aedes,
      mqttPort,
      wsPort,
      url: `mqtt://${host}:${mqttPort}`,
      wsUrl: wsPort === null ? null : `ws://${host}:${wsPort}${WS_PATH}`,
      close: () => (closed ??= shutdown()),
    }
  } catch (err) {
    await shutdown()
    throw err
  }
}

function aedesOptions(hooks: BrokerHooks | undefined): AedesOptions {
  // aedes merges options with Object.assign, so an explicit `undefined` would erase its default hook.
  const defined = Object.fromEntries(Object.entries(hooks ?? {}).filter(([, v]) => v !== undefined))
  return {
    ...defined,
    // aedes defaults to the MQTT 3.1.1 minimum of 23; Mosquitto accepts far longer ids,
    // and both brokers must accept the same clients.
    maxClientsIdLength: 256,
  }
}

/** Browsers abort the handshake unless the server echoes one of their subprotocols. */
function pickMqttProtocol(offered: Set<string>): string | false {
  if (offered.has('mqtt')) return 'mqtt'
  if (offered.has('mqttv3.1')) return 'mqttv3.1'
  return false
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
