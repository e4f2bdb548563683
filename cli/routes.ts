import { rename, writeFile } from 'node:fs/promises'
import mqtt, { type MqttClient } from 'mqtt'
import { OPS_ROUTES_TOPIC } from '../schema/index.ts'
import { parseOpsTable, type OpsTableMessage } from '../relay/ops-routes.ts'
import { readRouteFile } from '../relay/route-source.ts'
import { routeTable, type RouteTable } from '../relay/routes.ts'
import { loadOpsLogin, type OpsLogin } from './ops-token.ts'

type RouteCommand =
  | { verb: 'show' }
  | { verb: 'clear' }
  | { verb: 'set'; action: string; weight: number }
  | { verb: 'promote' | 'rollback'; action: string }

/** Checked before anything is read or connected to. */
function parseArgs(args: string[]): RouteCommand {
  const [verb = 'show', action, value] = args
  if (verb === 'show' || verb === 'clear') return { verb }
  if (verb !== 'set' && verb !== 'promote' && verb !== 'rollback')
    throw new Error(`routes: unknown command ${verb} (show, set, promote, rollback, clear)`)
  if (!action) throw new Error(`routes ${verb} needs an action`)
  if (verb !== 'set') return { verb, action }
  const weight = Number(value)
  if (value === undefined || !(weight >= 0 && weight <= 100)) throw new Error('routes set <action> <weight 0–100>')
  return { verb, action, weight }
}

/** The table after a change, validated as a relay would. */
function apply(table: RouteTable, cmd: Exclude<RouteCommand, { verb: 'show' | 'clear' }>): RouteTable {
  const route = table.actions[cmd.action]
  let next: RouteTable
  switch (cmd.verb) {
    case 'set':
      if (!route?.canary) throw new Error(`${cmd.action} has no canary to weigh`)
      next = withRoute(table, cmd.action, { ...route, canary: { ...route.canary, weight: cmd.weight } })
      break
    case 'rollback':
      if (!route?.canary) throw new Error(`${cmd.action} has no canary to roll back`)
      next = withRoute(table, cmd.action, { ...route, canary: { ...route.canary, weight: 0 } })
      break
    case 'promote': {
      // The canary becomes the stable version; the old stable is forgotten.
      if (!route?.canary) throw new Error(`${cmd.action} has no canary to promote`)
      const { canary, ...rest } = route
      next = withRoute(table, cmd.action, { ...rest, stable: canary.target })
      break
    }
  }
  return routeTable.parse(next)
}

/**
 * `mchat routes …`: edits the relay's routes file (MCHAT_ROUTES_FILE or --file). Relays follow the
 * file, so a change takes effect without a restart. Writes go through a rename: a relay never
 * reads half a file.
 */
export async function routesCommand(
  path: string | undefined,
  args: string[],
  print: (s: string) => void,
): Promise<void> {
  if (!path)
    throw new Error(
      'routes: pass --file <routes.json> or set MCHAT_ROUTES_FILE (or --broker <url> --ops <file> for the ops topic)',
    )
  const cmd = parseArgs(args)
  if (cmd.verb === 'clear')
    throw new Error(`routes clear empties ${OPS_ROUTES_TOPIC}: it needs --broker <url> --ops <file>`)
  const table = await readRouteFile(path)
  if (cmd.verb === 'show') return print(describe(table))
  const checked = apply(table, cmd)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(checked, null, 2) + '\n')
  await rename(tmp, path)
  print(describe(checked))
}

export interface BrokerTarget {
  /** mqtt://host:port (or ws://, mqtts://, wss://) */
  url: string
  /** What `mchat ops-token` printed. */
  opsFile: string
  /** Where to start when nothing is retained on the topic yet. */
  routesFile?: string | undefined
}

/**
 * MQTT 3.1.1 cannot say "nothing is retained", so after the SUBACK the command waits this
 * long for a retained table before concluding there is none (brokers send it right behind the SUBACK).
 */
const RETAINED_WAIT_MS = 1000

/**
 * `mchat routes … --broker <url> --ops <file>`: the same commands on the table retained on
 * mchat/ops/routes, which every relay follows (docs/routes.md). Read, changed and published whole,
 * retained, at QoS 1; `clear` empties the topic so the relays go back to their files.
 */
export async function routesOverBroker(
  target: BrokerTarget,
  args: string[],
  out: { print: (s: string) => void; note: (s: string) => void },
): Promise<void> {
  const cmd = parseArgs(args)
  const login = await loadOpsLogin(target.opsFile)
  const client = await connectOps(target.url, login)
  try {
    if (cmd.verb === 'clear') {
      await publishRetained(client, login, '')
      return out.note(`cleared ${OPS_ROUTES_TOPIC}: relays go back to their routes files`)
    }
    const retained = await readRetained(client)
    let table: RouteTable
    if (retained?.kind === 'table') table = retained.table
    else {
      const why =
        retained?.kind === 'invalid'
          ? `the table on ${OPS_ROUTES_TOPIC} is invalid (${retained.error})`
          : `no table is retained on ${OPS_ROUTES_TOPIC}`
      if (!target.routesFile)
        throw new Error(`${why}: pass --file <routes.json> (or set MCHAT_ROUTES_FILE) to start from a routes file`)
      table = await readRouteFile(target.routesFile)
      out.note(`${why}; starting from ${target.routesFile}`)
    }
    if (cmd.verb === 'show') return out.print(describe(table))
    const next = apply(table, cmd)
    await publishRetained(client, login, JSON.stringify(next))
    out.print(describe(next))
  } finally {
    await client.endAsync()
  }
}

function connectOps(url: string, login: OpsLogin): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId: login.client_id,
    username: login.mqtt_username,
    password: login.mqtt_password,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  })
  return new Promise((resolve, reject) => {
    let failed = false
    const fail = (why: string) => {
      if (failed) return
      failed = true
      client.end(true)
      reject(new Error(`${url}: ${why}`))
    }
    client.once('connect', () => {
      client.removeAllListeners('error')
      client.removeAllListeners('close')
      // Errors after CONNACK surface through the publish or subscribe that hits them.
      client.on('error', () => {})
      resolve(client)
    })
    client.once('error', (err) =>
      fail(
        /not authori[sz]ed|bad user ?name or password/i.test(err.message)
          ? `the broker refused ${login.mqtt_username} (${err.message}); is the ops token from this deployment's secret?`
          : err.message,
      ),
    )
    client.once('close', () => fail('connection closed before the broker accepted it'))
  })
}

async function readRetained(client: MqttClient): Promise<OpsTableMessage | null> {
  let got: OpsTableMessage | null = null
  let arrived = () => {}
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic !== OPS_ROUTES_TOPIC) return
    got = parseOpsTable(payload)
    arrived()
  }
  client.on('message', onMessage)
  try {
    const granted = await client.subscribeAsync(OPS_ROUTES_TOPIC, { qos: 1 }).catch(() => [{ qos: 128 }])
    if (granted[0]?.qos === 128)
      throw new Error(`the broker refused the subscription to ${OPS_ROUTES_TOPIC}: is this an ops login?`)
    if (got === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RETAINED_WAIT_MS)
        arrived = () => (clearTimeout(timer), resolve())
      })
    }
    // Assigned by the listener: TypeScript cannot see that and still narrows `got` to null.
    const found = got as OpsTableMessage | null
    return found?.kind === 'cleared' ? null : found
  } finally {
    client.off('message', onMessage)
  }
}

function publishRetained(client: MqttClient, login: OpsLogin, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Brokers that enforce the ACL drop the connection instead of acknowledging (EMQX deny_action = disconnect, aedes).
    const closed = () =>
      reject(
        new Error(
          `the broker closed the connection instead of accepting ${OPS_ROUTES_TOPIC} from ${login.mqtt_username}`,
        ),
      )
    client.once('close', closed)
    client.publish(OPS_ROUTES_TOPIC, payload, { qos: 1, retain: true }, (err) => {
      client.off('close', closed)
      if (err) reject(err)
      else resolve()
    })
  })
}

const withRoute = (t: RouteTable, action: string, r: RouteTable['actions'][string]): RouteTable => ({
  ...t,
  actions: { ...t.actions, [action]: r },
})

const name = (t: { url?: string | undefined; worker?: string | undefined; version?: string | undefined }) =>
  t.version ? `${t.worker}@${t.version}` : t.url!

function describe(t: RouteTable): string {
  const lines = [`default → ${name(t.default)}${t.timeout_ms ? ` (timeout ${t.timeout_ms} ms)` : ''}`]
  for (const [action, r] of Object.entries(t.actions)) {
    const stable = name(r.stable ?? t.default)
    const traits =
      r.canary &&
      [r.canary.analysis && 'analysed', r.canary.fallback ? 'falls back to stable' : 'no fallback']
        .filter(Boolean)
        .join(', ')
    const canary = r.canary ? `, canary ${name(r.canary.target)} at ${r.canary.weight} % (${traits})` : ''
    lines.push(`${action} → ${stable}${canary}${r.timeout_ms ? ` (timeout ${r.timeout_ms} ms)` : ''}`)
  }
  return lines.join('\n')
}
