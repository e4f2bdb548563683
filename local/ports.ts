import net from 'node:net'
import type { AddressInfo } from 'node:net'

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  const port = await listen(server, 0, '127.0.0.1', 'freePort')
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * Listens `server` (net.Server or http.Server) on host:port and resolves to the bound port.
 * Listen errors become one readable line, because they are what an operator sees when
 * `npm start` collides with something already running.
 */
export async function listen(server: net.Server, port: number, host: string, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      reject(new Error(describeListenError(err, port, host, what)))
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

function describeListenError(err: NodeJS.ErrnoException, port: number, host: string, what: string): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `${what}: port ${port} on ${host} is already in use`
    case 'EACCES':
      return `${what}: no permission to listen on port ${port} on ${host}`
    case 'EADDRNOTAVAIL':
      return `${what}: address ${host} is not available on this machine (port ${port})`
    default:
      return `${what}: cannot listen on ${host}:${port}: ${err.message.split('\n')[0]}`
  }
}
