import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  configStorage,
  fileDownloadUrl,
  fileUploadUrl,
  groupMessage,
  privateMessage,
  type MqttConnection,
} from '../../schema/index.ts'
import { postForm } from '../support/files.ts'
import { connectBound } from '../support/logins.ts'
import type { TestClient } from '../support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * Files over the real path: URLs asked for over MQTT (relay → worker), bytes moved with plain
 * HTTP straight to the S3-compatible store `npm start` runs, never through MChat.
 */
let sys: TestSystem
const clients: TestClient[] = []
const creds: Record<string, MqttConnection> = {}
let admin: TestClient
let alice: TestClient
let bob: TestClient
let carol: TestClient

// A 1×1 PNG.
const PNG = Uint8Array.from(
  atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='),
  (c) => c.charCodeAt(0),
)

async function connectAs(employeeId: string, device: string): Promise<TestClient> {
  const c = await connectBound(sys.mqttUrl, creds[employeeId]!, device)
  clients.push(c)
  return c
}

beforeAll(async () => {
  sys = await startTestSystem()
  creds.admin = sys.admin.mqtt_connection
  admin = await connectAs('admin', 'files')
  for (const [employee_id, name] of [
    ['emp_alice_f', 'Alice'],
    ['emp_bob_f', 'Bob'],
    ['emp_carol_f', 'Carol'],
  ] as const) {
    const r = await admin.request('employee.create', { employee_id, name })
    expect(r.code, JSON.stringify(r)).toBe(0)
    creds[employee_id] = r.data.mqtt_connection
  }
  alice = await connectAs('emp_alice_f', 'phone')
  bob = await connectAs('emp_bob_f', 'laptop')
  carol = await connectAs('emp_carol_f', 'phone')
  await bob.subscribe('mchat/inbox/emp_bob_f')
}, 90_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()))
  await sys?.close()
})

describe('files end to end', () => {
  it('an image in a private chat: URL over MQTT, PUT over HTTP, the message carries the URL, the recipient downloads it', async () => {
    const up = await alice.request('file.upload_url', {
      file_name: 'dot.png',
      content_type: 'image/png',
      size: PNG.byteLength,
      conversation_type: 'private',
      peer_employee_id: 'emp_bob_f',
    })
    expect(up.code, up.message).toBe(0)
    const u = fileUploadUrl.reply.parse(up.data)
    expect(u.url.startsWith(`${sys.s3Endpoint}/`)).toBe(true)
    const put = await fetch(u.url, { method: u.method, headers: u.headers, body: PNG })
    expect(put.status).toBe(200)

    const content = { type: 'image', body: { url: u.object_url, width: 1, height: 1 } }
    const sent = await alice.request('msg.send_private', { to_employee_id: 'emp_bob_f', content })
    expect(sent.code).toBe(0)
    const msg = privateMessage.parse(
      (await bob.waitFor('mchat/inbox/emp_bob_f', (p) => p.msg_id === sent.data.msg_id)).payload,
    )
    expect(msg.content).toEqual(content)

    const url = (msg.content as { body: { url: string } }).body.url
    const down = await bob.request('file.download_url', { url })
    expect(down.code, down.message).toBe(0)
    const d = fileDownloadUrl.reply.parse(down.data)
    expect(d.key).toBe(u.key)
    const got = await fetch(d.url)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(PNG)
    // Someone outside the chat who learns the URL gets no signature for it.
    const refused = await carol.request('file.download_url', { url })
    expect([refused.code, refused.data]).toEqual([403, null])
  })

  it('a file in a group: members download it through file.download_url, outsiders are refused', async () => {
    const g = await alice.request('group.create', { name: 'Files', member_ids: ['emp_bob_f'] })
    expect(g.code).toBe(0)
    const groupId = g.data.group_id as string
    await bob.subscribe(`mchat/group/${groupId}`)
    const text = new TextEncoder().encode('季度报告 Q3\n')
    const up = fileUploadUrl.reply.parse(
      (
        await bob.request('file.upload_url', {
          file_name: '季度报告.txt',
          content_type: 'text/plain',
          size: text.byteLength,
          conversation_type: 'group',
          group_id: groupId,
        })
      ).data,
    )
    expect((await fetch(up.url, { method: 'PUT', headers: up.headers, body: text })).status).toBe(200)
    const content = { type: 'file', body: { url: up.object_url, name: '季度报告.txt', size: text.byteLength } }
    const sent = await bob.request('msg.send_group', { group_id: groupId, content })
    expect(sent.code).toBe(0)
    const msg = groupMessage.parse(
      (await bob.waitFor(`mchat/group/${groupId}`, (p) => p.msg_id === sent.data.msg_id)).payload,
    )
    const link = await alice.request('file.download_url', { url: (msg.content as { body: { url: string } }).body.url })
    expect(link.code).toBe(0)
    expect(await (await fetch(link.data.url)).text()).toBe('季度报告 Q3\n')
    expect((await carol.request('file.download_url', { key: up.key })).code).toBe(403)
  })

  it('seed §3.14 config.storage as written: coordinates and a policy for one’s own prefix, no secret', async () => {
    const r = await carol.request(
      'config.storage',
      { seq_id: 'aa0e8400-e29b-41d4-a716-446655440005' },
      'aa0e8400-e29b-41d4-a716-446655440005',
    )
    expect([r.code, r.message]).toEqual([0, 'ok'])
    const d = configStorage.reply.parse(r.data)
    expect(d).toMatchObject({
      endpoint: sys.s3Endpoint,
      bucket: 'mchat-files',
      region: 'us-east-1',
      key_prefix: 'u/emp_carol_f/',
    })
    expect(Date.parse(d.expires_at)).toBeGreaterThan(Date.now())
    expect(Object.keys(d)).not.toEqual(expect.arrayContaining(['secret_key']))
    const key = `${d.key_prefix}avatar.png`
    expect((await postForm(d.upload, key, PNG, 'avatar.png')).status).toBe(204)
    const own = await carol.request('file.download_url', { key })
    expect(own.code).toBe(0)
    expect(new Uint8Array(await (await fetch(own.data.url)).arrayBuffer())).toEqual(PNG)
    // Someone else's own prefix stays theirs.
    expect((await bob.request('file.download_url', { key })).code).toBe(403)
  })

  it('seed §3.16 file.upload_url as written, and the workers’ refusals over MQTT', async () => {
    const r = await alice.request(
      'file.upload_url',
      { seq_id: 'file_up_001', file_name: '报告.pdf', content_type: 'application/pdf', size: 102400 },
      'file_up_001',
    )
    expect(r.code).toBe(0)
    expect(fileUploadUrl.reply.parse(r.data).key).toMatch(/^u\/emp_alice_f\/f_[0-9a-f]{24}\/报告\.pdf$/)

    const refusals: Array<[TestClient, string, Record<string, unknown>, number, RegExp]> = [
      [bob, 'file.download_url', { key: r.data.key }, 403, /^key: you may read only your own files/],
      [alice, 'file.upload_url', { file_name: 'x.html', content_type: 'text/html', size: 10 }, 400, /^content_type: /],
      [
        alice,
        'file.upload_url',
        { file_name: 'big.zip', content_type: 'application/zip', size: 50 * 1024 * 1024 + 1 },
        400,
        /^size: /,
      ],
      [alice, 'file.download_url', { key: r.data.key, expires_in: 3601 }, 400, /^expires_in: at most 3600 seconds/],
    ]
    for (const [who, action, payload, code, message] of refusals) {
      const a = await who.request(action, payload)
      expect([a.code, a.data], `${action} ${JSON.stringify(payload)}`).toEqual([code, null])
      expect(a.message).toMatch(message)
    }
  })
})
