import { describe, expect, it } from 'vitest'
import { CONTENT_MAX_BYTES, msgSendPrivate, privateMessage } from '../../schema/index.ts'
import { callAction, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('msg.send_private', () => {
  it('replies with msg_id and sent_at and delivers the seed’s payload to the recipient’s inbox', async () => {
    const zs = await createAndBind(app, s.h, s.admin, { name: '张三', employee_id: 'emp_zhangsan_001' })
    await createAndBind(app, s.h, s.admin, { name: '李四', employee_id: 'emp_lisi_002' })
    const a = await callAction(app, s.h, 'msg.send_private', zs.clientId, {
      to_employee_id: 'emp_lisi_002',
      content: '你好，下午会议改到 3 点。',
    })
    expect(a.reply.code).toBe(0)
    const data = msgSendPrivate.reply.parse(a.reply.data)
    expect(data.msg_id).toMatch(/^msg_/)
    expect(data.to_employee_id).toBe('emp_lisi_002')
    // The recipient's delivery, then the sender's copy for the sender's other devices.
    expect(a.deliveries.map((d) => d.topic)).toEqual(['mchat/inbox/emp_lisi_002', 'mchat/inbox/emp_zhangsan_001'])
    const message = {
      msg_id: data.msg_id,
      type: 'private',
      from_employee_id: 'emp_zhangsan_001',
      to_employee_id: 'emp_lisi_002',
      content: '你好，下午会议改到 3 点。',
      sent_at: data.sent_at,
    }
    expect(privateMessage.parse(a.deliveries[0]!.payload)).toEqual(message)
    expect(a.deliveries[1]!.payload).toEqual(message)
  })

  it('carries quote_msg_id to the delivery as it is, and refuses one that is not a msg_id, naming the field', async () => {
    const quoted = await callAction(app, s.h, 'msg.send_private', s.admin, {
      to_employee_id: 'admin',
      content: 'first',
    })
    const quote_msg_id = quoted.reply.data.msg_id as string
    const r = await callAction(app, s.h, 'msg.send_private', s.admin, {
      to_employee_id: 'admin',
      content: 're',
      quote_msg_id,
    })
    expect(r.reply.code).toBe(0)
    // A message to oneself has no second copy.
    expect(r.deliveries.map((d) => [d.topic, d.payload.quote_msg_id])).toEqual([['mchat/inbox/admin', quote_msg_id]])
    for (const bad of ['', 'msg_xyz', 'x'.repeat(200), 42, 'msg_0123456789abcdef01234567/x']) {
      const b = await callAction(app, s.h, 'msg.send_private', s.admin, {
        to_employee_id: 'admin',
        content: 'x',
        quote_msg_id: bad,
      })
      expect(b.reply.code, String(bad)).toBe(400)
      expect(b.reply.message).toMatch(/^quote_msg_id: /)
    }
  })

  it('accepts structured content and refuses bad or oversized content, naming the field', async () => {
    const img = { type: 'image', body: { url: 'https://cdn.example.com/a.png', width: 10, height: 20 } }
    const ok = await callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: 'admin', content: img })
    expect(ok.reply.code).toBe(0)
    expect(ok.deliveries[0]!.payload.content).toEqual(img)
    for (const content of [
      undefined,
      '',
      { type: 'video', body: {} },
      { type: 'image', body: { url: 'javascript:alert(1)' } },
      'x'.repeat(CONTENT_MAX_BYTES + 1),
    ]) {
      const a = await callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: 'admin', content })
      expect([a.status, a.reply.code], JSON.stringify(content)?.slice(0, 40)).toEqual([400, 400])
      expect(a.reply.message).toMatch(/^content/)
    }
    const missing = await callAction(app, s.h, 'msg.send_private', s.admin, { content: 'hi' })
    expect(missing.reply.message).toMatch(/^to_employee_id: /)
  })

  it('404 for an unknown recipient, 403 for a disabled one', async () => {
    expect(
      (await callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: 'emp_ghost', content: 'hi' })).reply,
    ).toMatchObject({ code: 404, message: 'to_employee_id: no such employee' })
    const d = await createAndBind(app, s.h, s.admin, { name: 'Gone' })
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = $1`, [d.employee_id])
    expect(
      (await callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: d.employee_id, content: 'hi' })).reply
        .code,
    ).toBe(403)
  })

  it('a repeated request returns the same msg_id and delivery, and the content is stored nowhere', async () => {
    const seq = nextSeq()
    const secret = `secret-content-${seq}`
    const first = await callAction(
      app,
      s.h,
      'msg.send_private',
      s.admin,
      { to_employee_id: 'admin', content: secret },
      seq,
    )
    const again = await callAction(
      app,
      s.h,
      'msg.send_private',
      s.admin,
      { to_employee_id: 'admin', content: secret },
      seq,
    )
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    const tables = await s.h.db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
    for (const { table_name } of tables.rows) {
      const hit = await s.h.db.query(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE t::text LIKE $1`, [
        `%${secret}%`,
      ])
      expect(hit.rows[0].n, table_name).toBe(0)
    }
  })

  it('refuses an unbound sender', async () => {
    expect(
      (await callAction(app, s.h, 'msg.send_private', 'ghost.dev', { to_employee_id: 'admin', content: 'x' })).reply
        .code,
    ).toBe(401)
  })
})
