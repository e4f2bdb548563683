/**
 * Every SDK feature once, against a running system (`npm start` in another terminal):
 *   npx tsx sdk/examples/tour.ts
 * It reads the local admin's credentials from $MCHAT_DATA_DIR/admin.json (default .mchat).
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConnection } from '../../cli/credentials.ts'
import { connect, MChatError, type HistoryMessage } from '../index.ts'
import { FileHistory } from '../history/file.ts'

const step = (s: string) => console.log(`• ${s}`)
const until = <T>(register: (done: (v: T) => void) => void) => new Promise<T>(register)

// 1. Connect as the admin: binds the session, subscribes inbox, profile, notices and groups.
const admin = await connect(await loadConnection(), { deviceId: 'tour' })
step(`connected as ${admin.clientId}`)

// 2. Typed requests: the reply's data, typed from the schema contracts.
const suffix = Date.now().toString(36)
const alice = (await admin.request('employee.create', { employee_id: `tour_alice_${suffix}`, name: 'Alice' }))
  .mqtt_connection
const bob = (await admin.request('employee.create', { employee_id: `tour_bob_${suffix}`, name: 'Bob' })).mqtt_connection
step(`created ${alice.mqtt_username} and ${bob.mqtt_username}`)

// 3. Typed errors: code and message from the server.
try {
  await admin.request('msg.send_private', { to_employee_id: 'nobody_here', content: 'hi' })
} catch (err) {
  if (!(err instanceof MChatError)) throw err
  step(`refused as expected: ${err.code} ${err.message}`)
}

// 4. Local history that survives restarts (the server keeps no messages).
const dir = await mkdtemp(join(tmpdir(), 'mchat-tour-'))
const a = await connect(alice, { deviceId: 'laptop', history: await FileHistory.open(join(dir, 'alice.jsonl')) })
const b = await connect(bob, { deviceId: 'phone', history: await FileHistory.open(join(dir, 'bob.jsonl')) })

// 5. Presence: retained `online`, and `offline` from the broker's last will.
step(`Alice sees Bob ${(await a.presence(bob.mqtt_username))?.status}`)

// 6. Private messages arrive as `message` events, once per msg_id.
const received = until<HistoryMessage>((done) => b.on('message', done))
await a.sendPrivate(bob.mqtt_username, '你好，下午会议改到 3 点。')
const m = await received
step(`Bob got "${m.content}" from ${m.from_employee_id}`)

// 7. Read receipts go back to the sender.
const receipt = until((done) => a.on('receipt', done))
await b.readAck(m)
await receipt
step('Alice got the read receipt')

// 8. Groups: the member_joined notice makes Bob's client subscribe the group by itself.
const joined = until((done) => b.on('notice', (n) => n.type === 'member_joined' && done(n)))
const group = await a.request('group.create', { name: 'Tour group', member_ids: [bob.mqtt_username] })
await joined
const inGroup = until<HistoryMessage>((done) =>
  b.on('message', (x) => x.conversation === `group:${group.group_id}` && done(x)),
)
await a.sendGroup(group.group_id, { type: 'text', body: '大家记得更新进度到文档。' })
step(`Bob got the group message: "${JSON.stringify((await inGroup).content)}"`)

// 9. History, newest first, paged per conversation.
const page = await b.history.page(`private:${alice.mqtt_username}`, { limit: 10 })
step(`Bob's history with Alice holds ${page.messages.length} message(s)`)

await Promise.all([a.close(), b.close(), admin.close()])
step('done')
