import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen } from '../../local/ports.ts'
import { routeTable } from '../../relay/routes.ts'
import { answerLine } from '../../schema/index.ts'
import { connect, type MChatClient } from '../../sdk/index.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * A canary that commits and then fails: the worker did the work, the relay saw an HTTP 500 and
 * asked stable, and stable answered with the stored reply, so there is no second effect.
 */
let sys: TestSystem
let admin: MChatClient
let proxy: Server
let proxyUrl: string
/** What the real worker answered the canary, line by line, per call. */
const committed: Array<Array<ReturnType<typeof answerLine.parse>>> = []

beforeAll(async () => {
  sys = await startTestSystem()
  // The canary: hands the signed request to the real worker, reads its whole answer, then fails.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host' && e[0] !== 'content-length',
        ),
      )
      const answer = await fetch(sys.workerUrl + req.url, {
        method: 'POST',
        headers,
        body: Buffer.concat(chunks),
      }).then((r) => r.text())
      committed.push(
        answer
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => answerLine.parse(JSON.parse(l))),
      )
      res.writeHead(500, { 'content-type': 'text/plain' }).end('committed, then crashed')
    })
  })
  proxyUrl = `http://127.0.0.1:${await listen(proxy, 0, '127.0.0.1', 'canary proxy')}`
  admin = await connect(sys.admin.mqtt_connection, { deviceId: 'fallback' })
  await admin.request('employee.create', { employee_id: 'fb_bob', name: 'Bob' })
  sys.relay.routes.set(
    routeTable.parse({
      default: { url: sys.workerUrl },
      actions: {
        'group.create': { canary: { target: { url: proxyUrl }, weight: 100 } },
        'msg.send_private': { canary: { target: { url: proxyUrl }, weight: 100 } },
      },
    }),
    'test: a canary that commits and fails',
  )
}, 90_000)

afterAll(async () => {
  await admin?.close()
  await new Promise((r) => proxy?.close(r))
  await sys?.close()
})

const replyOf = (lines: Array<ReturnType<typeof answerLine.parse>>) =>
  lines.find((l) => l.kind === 'reply') as { code: number; data: Record<string, unknown> }

describe('canary fallback after the canary committed', () => {
  it('group.create: the user gets the reply of the work the canary did, and there is one group', async () => {
    const before = committed.length
    const created = await admin.request('group.create', { name: 'fallback-once', member_ids: ['fb_bob'] })
    expect(committed.length).toBe(before + 1)
    const canaryReply = replyOf(committed[before]!)
    expect(canaryReply.code).toBe(0)
    expect(created.group_id).toBe(canaryReply.data.group_id)
    const { groups } = await admin.request('group.list', {})
    expect(groups.filter((g) => g.name === 'fallback-once')).toEqual([
      expect.objectContaining({ group_id: created.group_id, member_count: 2 }),
    ])
  })

  it('msg.send_private: stable answers with the stored reply, the same msg_id', async () => {
    const before = committed.length
    const sent = await admin.request('msg.send_private', { to_employee_id: 'fb_bob', content: 'exactly once' })
    expect(committed.length).toBe(before + 1)
    expect(sent.msg_id).toBe(replyOf(committed[before]!).data.msg_id)
    // The canary's work included the delivery the relay never saw: it was not published twice,
    // and not at all (docs/routes.md says so).
    expect(committed[before]!.filter((l) => l.kind === 'delivery').length).toBeGreaterThan(0)
  })
})
