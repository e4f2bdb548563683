import { neon, neonConfig } from '@neondatabase/serverless'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { auditQuery, GROUP_MAX_MEMBERS, groupCreate, memberJoinedNotice } from '../../schema/index.ts'
import { loginOf, superuserLogin } from '../support/logins.ts'
import { connectClient, type TestClient } from '../support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * Seed-scale groups through the real path: one group.create naming 2,000 members yields one
 * member_joined notice on each of the 2,000 inboxes, and publishing the same request again
 * returns the identical reply, re-publishes the same notices and creates nothing.
 */
let sys: TestSystem
let admin: TestClient
let observer: TestClient

beforeAll(async () => {
  sys = await startTestSystem()
  neonConfig.fetchEndpoint = sys.neonEndpoint
  // 1,999 colleagues in one statement: the fan-out is under test, not employee.create.
  await neon(sys.databaseUrl).query(
    `INSERT INTO employee (employee_id, name) SELECT 'emp_bulk_' || lpad(i::text, 4, '0'), 'Bulk ' || i FROM generate_series(1, $1::int) AS i`,
    [GROUP_MAX_MEMBERS - 1],
  )
  admin = await connectClient(sys.mqttUrl, 'admin.scale', loginOf(sys.admin.mqtt_connection))
  expect((await admin.request('auth.bind', { mqtt_password: sys.admin.mqtt_connection.mqtt_password })).code).toBe(0)
  observer = await connectClient(sys.mqttUrl, 'observer.scale', await superuserLogin(sys.dataDir, 'observer.scale'))
  await observer.subscribe('mchat/inbox/+')
}, 90_000)

afterAll(async () => {
  await admin?.end()
  await observer?.end()
  await sys?.close()
})

describe(`a group of ${GROUP_MAX_MEMBERS}`, () => {
  it(
    'is created in one request, every member gets exactly one notice, and a repeat changes nothing',
    { timeout: 120_000 },
    async () => {
      const member_ids = [
        'admin',
        ...Array.from({ length: GROUP_MAX_MEMBERS - 1 }, (_, i) => `emp_bulk_${String(i + 1).padStart(4, '0')}`),
      ]
      const payload = { name: '全员群', member_ids }
      const first = await admin.request('group.create', payload, 'scale-create-1')
      expect(first.code, JSON.stringify(first)).toBe(0)
      const data = groupCreate.reply.parse(first.data)
      expect(data.member_ids).toHaveLength(GROUP_MAX_MEMBERS)

      const noticesOf = () =>
        observer.received.filter(
          (r) => r.payload?.type === 'member_joined' && r.payload.body?.group_id === data.group_id,
        )
      await vi.waitFor(() => expect(noticesOf()).toHaveLength(GROUP_MAX_MEMBERS), { timeout: 60_000, interval: 200 })
      const once = noticesOf()
      expect(new Set(once.map((r) => r.topic))).toEqual(new Set(member_ids.map((id) => `mchat/inbox/${id}`)))
      const notifyIds = new Set(once.map((r) => memberJoinedNotice.parse(r.payload).notify_id))
      expect(notifyIds.size).toBe(1)

      // The same request again (a client retry): identical reply, the same notices again, no second group.
      const again = await admin.request('group.create', payload, 'scale-create-1')
      expect(again).toEqual(first)
      await vi.waitFor(() => expect(noticesOf()).toHaveLength(2 * GROUP_MAX_MEMBERS), {
        timeout: 60_000,
        interval: 200,
      })
      expect(new Set(noticesOf().map((r) => r.payload.notify_id))).toEqual(notifyIds)
      const query = await admin.request('audit.query', { action_name: 'group.create', operator_id: 'admin' })
      expect(query.code, JSON.stringify(query)).toBe(0)
      const audit = auditQuery.reply.parse(query.data)
      expect(audit.entries.filter((e) => (e.params as { group_id?: string }).group_id === data.group_id)).toHaveLength(
        1,
      )
      const rows = await neon(sys.databaseUrl).query('SELECT count(*)::int AS n FROM chat_group WHERE name = $1', [
        '全员群',
      ])
      expect(rows[0]!.n).toBe(1)
    },
  )
})
