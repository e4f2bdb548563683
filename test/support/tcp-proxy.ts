import net from 'node:net'
import type { Socket } from 'node:net'
import { listen } from '../../local/ports.ts'

export interface TcpProxy {
  host: string
  port: number
  /** `scheme://host:port` of the proxy, for services addressed by URL. */
  url(scheme: string, path?: string): string
  /** Connections currently open through it. */
  open(): number
  /** The service is down: new connections are refused and open ones dropped. */
  cut(): Promise<void>
  /**
   * The service hangs: connections are accepted and open ones kept, but no byte goes through in
   * either direction until restore().
   */
  stall(): Promise<void>
  /** Back to forwarding, on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/**
 * A TCP proxy to `target` that a test can cut, stall and restore, to take a dependency (Postgres,
 * Redis, an HTTP endpoint, a broker) away from the code under test without touching the service.
 */
export async function startTcpProxy(target: { host?: string; port: number }, host = '127.0.0.1'): Promise<TcpProxy> {
  const targetHost = target.host ?? '127.0.0.1'
  const pairs = new Set<{ inbound: Socket; outbound: Socket }>()
  let state: 'forward' | 'stall' | 'cut' = 'forward'

  const onConnection = (inbound: Socket): void => {
    inbound.setNoDelay(true)
    inbound.on('error', () => {})
    if (state === 'stall') {
      // Held open and silent, like a peer that accepted and then stopped answering.
      inbound.pause()
      pairs.add({ inbound, outbound: inbound })
      inbound.once('close', () => pairs.forEach((p) => p.inbound === inbound && pairs.delete(p)))
      return
    }
    const outbound = net.connect({ port: target.port, host: targetHost, noDelay: true })
    outbound.on('error', () => {})
    const pair = { inbound, outbound }
    pairs.add(pair)
    const drop = (): void => {
      pairs.delete(pair)
      inbound.destroy()
      outbound.destroy()
    }
    inbound.once('close', drop)
    outbound.once('close', drop)
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  }

  let server = net.createServer({ noDelay: true }, onConnection)
  const port = await listen(server, 0, host, 'tcp proxy')

  const stopListening = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      server.close(() => resolve())
    })

  const cut = async (): Promise<void> => {
    state = 'cut'
    const closed = stopListening()
    for (const { inbound, outbound } of pairs) {
      inbound.destroy()
      outbound.destroy()
    }
    pairs.clear()
    await closed
  }

  return {
    host,
    port,
    url: (scheme, path = '') => `${scheme}://${host}:${port}${path}`,
    open: () => pairs.size,
    cut,
    async stall() {
      state = 'stall'
      for (const { inbound, outbound } of pairs) {
        inbound.pause()
        outbound.pause()
        inbound.unpipe()
        outbound.unpipe()
      }
    },
    async restore() {
      if (state === 'stall') {
        // Stalled connections are dropped: what they carried meanwhile is lost anyway.
        for (const { inbound, outbound } of pairs) {
          inbound.destroy()
          outbound.destroy()
        }
        pairs.clear()
      }
      state = 'forward'
      if (!server.listening) {
        server = net.createServer({ noDelay: true }, onConnection)
        await listen(server, port, host, 'tcp proxy')
      }
    },
    close: cut,
  }
}
