import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import net from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../local/ports.ts'
import { mosquittoBin } from './services.ts'

export interface MosquittoProcess {
  port: number
  url: string
  configPath: string
  stop(): Promise<void>
  /**
   * Stops the broker (SIGTERM: with `persistence` it saves its sessions first) and starts it again
   * on the same port and config, running `whileDown` in between.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>
  logs(): string
}

const READY_TIMEOUT_MS = 5_000
const KILL_AFTER_MS = 3_000
/** freePort() releases the port before mosquitto binds it; a parallel test can win that race. */
const PORT_ATTEMPTS = 3

/**
 * Spawns `mosquitto -c <tmp config>` on a free port with set_tcp_nodelay, persistence only if asked, anonymous
 * allowed (extraConfig lines appended), waits until it accepts MQTT connections, rejects with the
 * log tail if it exits.
 */
export async function startMosquitto(
  opts: { extraConfig?: string[]; persistence?: boolean } = {},
): Promise<MosquittoProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts.extraConfig ?? [], opts.persistence ?? false)
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !(err instanceof PortTakenError)) throw err
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(extraConfig: string[], persistence: boolean): Promise<MosquittoProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'mchat-mosquitto-'))
  const port = await freePort()
  const configPath = join(dir, 'mosquitto.conf')
  const config = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // With persistence, sessions and their queued messages survive restart() (kept in the temp dir).
    ...(persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
    // Without it every request/response round trip pays ~88 ms of Nagle + delayed ACK.
    'set_tcp_nodelay true',
    // stderr, not stdout: C stdio fully buffers stdout into a pipe, so logs() would stay empty.
    'log_dest stderr',
    ...extraConfig,
  ]
  await writeFile(configPath, config.join('\n') + '\n')

  let output = ''
  let child!: ChildProcess
  let exited!: Promise<string>
  const launch = (): void => {
    const c = spawn(mosquittoBin, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    c.stdout.setEncoding('utf8').on('data', (s: string) => (output += s))
    c.stderr.setEncoding('utf8').on('data', (s: string) => (output += s))
    exited = new Promise<string>((resolve) => {
      c.once('error', (err) => resolve(`failed to spawn ${mosquittoBin}: ${err.message}`))
      c.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`))
    })
    child = c
  }
  launch()
  // A crashed or aborted test run must not leave brokers behind.
  const killOnExit = (): void => void child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit)
    await terminate(child, exited)
    await rm(dir, { recursive: true, force: true })
  }

  const ready = await Promise.race([waitForConnack(port), exited.then((why) => new Error(why))])
  if (ready !== true) {
    await stop()
    const tail = output.trim().split('\n').slice(-15).join('\n')
    const message = `mosquitto did not start on 127.0.0.1:${port}: ${ready.message}\n${tail}`
    throw /address already in use/i.test(output) ? new PortTakenError(message) : new Error(message)
  }

  const restart = async (whileDown?: () => Promise<void>): Promise<void> => {
    await terminate(child, exited)
    await whileDown?.()
    launch()
    const again = await Promise.race([waitForConnack(port), exited.then((why) => new Error(why))])
    if (again !== true)
      throw new Error(
        `mosquitto did not restart on 127.0.0.1:${port}: ${again.message}\n${output.trim().split('\n').slice(-15).join('\n')}`,
      )
  }

  return { port, url: `mqtt://127.0.0.1:${port}`, configPath, stop, restart, logs: () => output }
}

async function terminate(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
  await exited
  clearTimeout(timer)
}

/** Polls until an MQTT 3.1.1 CONNECT is answered with an accepting CONNACK; true, or the last error. */
async function waitForConnack(port: number): Promise<true | Error> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last = new Error('not ready')
  while (Date.now() < deadline) {
    try {
      await probe(port)
      return true
    } catch (err) {
      last = err as Error
      await sleep(10)
    }
  }
  return new Error(`no CONNACK within ${READY_TIMEOUT_MS} ms (${last.message})`)
}

// CONNECT, MQTT 3.1.1, clean session, keepalive 10 s, empty client id.
const CONNECT = Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, 0, 0])
const DISCONNECT = Buffer.from([0xe0, 0])

function probe(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
    let received = Buffer.alloc(0)
    const fail = (err: Error): void => {
      socket.destroy()
      reject(err)
    }
    socket.setTimeout(1_000, () => fail(new Error('probe timed out')))
    socket.once('error', fail)
    socket.once('close', () => fail(new Error('connection closed before CONNACK')))
    socket.once('connect', () => socket.write(CONNECT))
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      if (received.length < 4) return
      socket.removeAllListeners('close')
      if (received[0] === 0x20 && received[3] === 0) {
        socket.end(DISCONNECT)
        resolve()
      } else fail(new Error(`unexpected CONNACK ${received.subarray(0, 4).toString('hex')}`))
    })
  })
}
