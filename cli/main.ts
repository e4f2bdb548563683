import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { isActionName, OPS_ROUTES_TOPIC, OPS_TOPIC_PREFIX, type MqttConnection } from '../schema/index.ts'
import { connect, MChatError, type MChatClient } from '../sdk/index.ts'
import { adminFile, loadConnection } from './credentials.ts'
import { issueOpsLogin, OPS_TOKEN_TTL } from './ops-token.ts'
import { routesCommand, routesOverBroker } from './routes.ts'
import { contentText, formatMessage, formatNotice, formatPresence, formatReceipt } from './format.ts'

const USAGE = `mchat — the MChat command line

  mchat start                       run the whole system locally (as npm start)
  mchat admin                       print the local admin's mqtt_connection
  mchat admin --create <id> [--name <name>]
                                    create another org admin and print its credentials
  mchat call <action> [json]        send one action, print the reply's data
  mchat listen                      print messages, notices, receipts and presence as they come
  mchat chat <employee_id|group_id> chat interactively with a person, an agent or a group
  mchat routes [show]               the relay's route table (--file or MCHAT_ROUTES_FILE)
  mchat routes set <action> <weight>   the canary's weight, 0–100
  mchat routes promote <action>     the canary becomes the stable version
  mchat routes rollback <action>    the canary's weight to 0
  mchat routes … --broker <url> --ops <ops.json>
                                    the same on the table retained on ${OPS_ROUTES_TOPIC}, which every
                                    relay follows (none retained yet: starts from --file)
  mchat routes clear --broker <url> --ops <ops.json>
                                    empty ${OPS_ROUTES_TOPIC}: relays go back to their routes files
  mchat ops-token <name> [--ttl <seconds>]
                                    print an ops identity's MQTT login (ops:<name>, ${OPS_TOPIC_PREFIX} only)
                                    as JSON; signed with CREDENTIAL_SECRET, else the data dir's
                                    keys.json; --ttl default ${OPS_TOKEN_TTL.defaultSeconds}, at most ${OPS_TOKEN_TTL.maxSeconds}

options: --as <file.json>  credentials (an mqtt_connection, admin.json, an employee.create reply;
                           default: the local admin in $MCHAT_DATA_DIR, .mchat)
         --device <id>     device part of the client id (default: cli)
         --url <url>       broker URL instead of the credentials' (e.g. ws://host:8083/mqtt)`

class UsageError extends Error {}

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    as: { type: 'string' },
    device: { type: 'string', default: 'cli' },
    url: { type: 'string' },
    create: { type: 'string' },
    name: { type: 'string' },
    file: { type: 'string' },
    broker: { type: 'string' },
    ops: { type: 'string' },
    ttl: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})

async function client(): Promise<MChatClient> {
  const conn: MqttConnection = await loadConnection(opts.as)
  return connect(conn, { deviceId: opts.device!, ...(opts.url ? { url: opts.url } : {}), reconnectPeriodMs: 1000 })
}

const print = (v: unknown) => console.log(JSON.stringify(v, null, 2))

async function call(action: string | undefined, json: string | undefined): Promise<void> {
  if (!action) throw new UsageError('call needs an action, e.g. mchat call org.tree')
  if (!isActionName(action)) throw new UsageError(`unknown action ${action}`)
  let payload: Record<string, unknown> = {}
  if (json !== undefined) {
    try {
      payload = JSON.parse(json)
    } catch {
      throw new UsageError(`the payload is not JSON: ${json}`)
    }
  }
  const c = await client()
  try {
    print(await c.request(action, payload as never))
  } finally {
    await c.close()
  }
}

async function admin(): Promise<void> {
  if (!opts.create) return print(await loadConnection(opts.as ?? adminFile()))
  const c = await client()
  try {
    print(
      await c.request('employee.create', { employee_id: opts.create, name: opts.name ?? opts.create, role: 'admin' }),
    )
  } finally {
    await c.close()
  }
}

/** Runs until Ctrl-C, printing one line per event. */
async function listen(): Promise<void> {
  const c = await client()
  c.on('message', (m) => console.log(formatMessage(m)))
  c.on('notice', (n) => console.log(formatNotice(n)))
  c.on('receipt', (r) => console.log(formatReceipt(r)))
  c.on('presence', (p) => console.log(formatPresence(p)))
  c.on('offline', () => console.error('offline: reconnecting…'))
  console.error(`listening as ${c.clientId} (groups: ${[...c.groups].join(', ') || 'none'}); Ctrl-C to stop`)
  await untilInterrupted(c)
}

async function chat(target: string | undefined): Promise<void> {
  if (!target) throw new UsageError('chat needs an employee_id or a group_id')
  const c = await client()
  const group = c.groups.has(target)
  const conversation = group ? `group:${target}` : `private:${target}`
  if (!group) {
    const tree = await c.request('org.tree', {})
    if (!tree.employees.some((e) => e.employee_id === target)) {
      await c.close()
      throw new Error(`${target} is neither an employee nor one of your groups`)
    }
  }
  const recent = await c.history.page(conversation, { limit: 20 })
  for (const m of recent.messages.reverse()) console.log(formatMessage(m))
  c.on('message', (m) => {
    if (m.conversation === conversation && m.from_employee_id !== c.employeeId)
      console.log(`${m.from_employee_id}: ${contentText(m.content)}`)
  })
  console.error(`chatting with ${target} as ${c.employeeId}; type a line and Enter to send, Ctrl-D to leave`)
  const rl = createInterface({ input: process.stdin })
  for await (const line of rl) {
    if (!line.trim()) continue
    try {
      const sent = group ? await c.sendGroup(target, line) : await c.sendPrivate(target, line)
      console.log(`sent ${sent.msg_id}`)
    } catch (err) {
      console.error(describe(err))
    }
  }
  await c.close()
}

function untilInterrupted(c: MChatClient): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => void c.close().then(resolve)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

function routes(args: string[]): Promise<void> {
  const file = opts.file ?? process.env.MCHAT_ROUTES_FILE
  if (opts.broker === undefined && opts.ops === undefined) return routesCommand(file, args, (s) => console.log(s))
  if (!opts.broker || !opts.ops)
    throw new UsageError('routes on the ops topic needs both --broker <mqtt url> and --ops <file from mchat ops-token>')
  return routesOverBroker({ url: opts.broker, opsFile: opts.ops, routesFile: file }, args, {
    print: (s) => console.log(s),
    note: (s) => console.error(s),
  })
}

async function opsToken(name: string | undefined): Promise<void> {
  if (!name) throw new UsageError('ops-token needs a name, e.g. mchat ops-token deploy-bot')
  print(await issueOpsLogin(name, opts.ttl === undefined ? OPS_TOKEN_TTL.defaultSeconds : Number(opts.ttl)))
}

const describe = (err: unknown) =>
  err instanceof MChatError ? `error ${err.code}: ${err.message}` : `error: ${(err as Error).message}`

async function main(): Promise<void> {
  const [command, ...rest] = positionals
  if (opts.help || !command) return console.log(USAGE)
  switch (command) {
    case 'start':
      await import('../local/start.ts').then((m) => m.main())
      return
    case 'admin':
      return admin()
    case 'call':
      return call(rest[0], rest[1])
    case 'listen':
      return listen()
    case 'chat':
      return chat(rest[0])
    case 'routes':
      return routes(rest)
    case 'ops-token':
      return opsToken(rest[0])
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}

main().then(
  () => {
    if (positionals[0] !== 'start') process.exit(0)
  },
  (err) => {
    console.error(err instanceof UsageError ? `${err.message}\n\n${USAGE}` : describe(err))
    process.exit(err instanceof UsageError ? 2 : 1)
  },
)
