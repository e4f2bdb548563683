import { describe, expect, it } from 'vitest'
import { CONTENT_MAX_BYTES, groupMessage, msgSendGroup } from '../../schema/index.ts'
import { callAction, createAndBind, createGroup, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('msg.send_group', () => {
  it('replies with msg_id, group_id and sent_at and delivers the seed’s payload once on the group topic', async () => {
    const zs = await createAndBind(app, s.h, s.admin, { name: '张三', employee_id: 'emp_zhangsan_001' })
    await createAndBind(app, s.h, s.admin, { name: '李四', employee_id: 'emp_lisi_002' })
    const group_id = await createGroup(app, s.h, zs.clientId, 'XX项目组', ['emp_lisi_002'])
    const a = await callAction(app, s.h, 'msg.send_group', zs.clientId, {
      group_id,
      content: '大家记得更新进度到文档。',
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = msgSendGroup.reply.parse(a.reply.data)
    expect(data).toEqual({ msg_id: expect.stringMatching(/^msg_/), group_id, sent_at: expect.any(String) })
    expect(a.deliveries).toHaveLength(1)
    expect(a.deliveries[0]!.topic).toBe(`mchat/group/${group_id}`)
    expect(groupMessage.parse(a.deliveries[0]!.payload)).toEqual({
      msg_id: data.msg_id,
      group_id,
      from_employee_id: 'emp_zhangsan_001',
      content: '大家记得更新进度到文档。',
      sent_at: data.sent_at,
    })
    // Every message has its own id.
    const b = await callAction(app, s.h, 'msg.send_group', zs.clientId, {
      group_id,
      content: '大家记得更新进度到文档。',
    })
    expect(msgSendGroup.reply.parse(b.reply.data).msg_id).not.toBe(data.msg_id)
  })

  it('carries quote_msg_id to the group delivery, and refuses one that is not a msg_id', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Quoter', employee_id: 'sg_quote_owner' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Quotes', ['sg_quote_owner'])
    const first = await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content: 'first' })
    const quote_msg_id = first.reply.data.msg_id as string
    const r = await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content: 're', quote_msg_id })
    expect(groupMessage.parse(r.deliveries[0]!.payload).quote_msg_id).toBe(quote_msg_id)
    expect(first.deliveries[0]!.payload).not.toHaveProperty('quote_msg_id')
    const bad = await callAction(app, s.h, 'msg.send_group', owner.clientId, {
      group_id,
      content: 'x',
      quote_msg_id: 'm1',
    })
    expect([bad.reply.code, bad.reply.message]).toEqual([
      400,
      'quote_msg_id: must be a msg_id (msg_ and 24 hex digits)',
    ])
  })

  it('passes structured content through as sent, and refuses bad content naming the field', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'sg_content_owner' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Content', ['sg_content_owner'])
    const contents = [
      { type: 'image', body: { url: 'https://cdn.example.com/a.png', width: 640, height: 480 } },
      { type: 'file', body: { url: 'https://cdn.example.com/a.pdf', name: 'a.pdf', size: 1024 } },
      { type: 'text', body: { text: 'hello' } },
    ]
    for (const content of contents) {
      const a = await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content })
      expect(a.reply.code, content.type).toBe(0)
      expect(groupMessage.parse(a.deliveries[0]!.payload).content).toEqual(content)
    }
    for (const content of [
      undefined,
      '',
      { type: 'video', body: {} },
      { type: 'image', body: { url: 'javascript:alert(1)' } },
      'x'.repeat(CONTENT_MAX_BYTES + 1),
    ]) {
      const a = await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content })
      expect([a.status, a.reply.code], JSON.stringify(content)?.slice(0, 40)).toEqual([400, 400])
      expect(a.reply.message).toMatch(/^content/)
      expect(a.deliveries).toEqual([])
    }
    const noGroup = await callAction(app, s.h, 'msg.send_group', owner.clientId, { content: 'hi' })
    expect([noGroup.reply.code, noGroup.reply.message]).toEqual([400, expect.stringMatching(/^group_id: /)])
  })

  it('403 for someone outside the group, 404 for an unknown group, 401 unbound, 403 disabled', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'sg_gate_owner' })
    const out = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'sg_gate_out' })
    const member = await createAndBind(app, s.h, s.admin, { name: 'M', employee_id: 'sg_gate_m' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Gate', ['sg_gate_m'])
    const refused = await callAction(app, s.h, 'msg.send_group', out.clientId, { group_id, content: 'let me in' })
    expect([refused.status, refused.reply.code, refused.reply.message, refused.reply.data]).toEqual([
      403,
      403,
      'group_id: only members can take part in this group',
      null,
    ])
    expect(refused.deliveries).toEqual([])
    // Org admins manage groups but take part only as members.
    expect((await callAction(app, s.h, 'msg.send_group', s.admin, { group_id, content: 'admin' })).reply.code).toBe(403)

    const unknown = await callAction(app, s.h, 'msg.send_group', owner.clientId, {
      group_id: 'grp_sg_none',
      content: 'hi',
    })
    expect([unknown.status, unknown.reply.code, unknown.reply.message]).toEqual([404, 404, 'group_id: no such group'])
    expect(unknown.deliveries).toEqual([])

    expect(
      (await callAction(app, s.h, 'msg.send_group', 'sg_gate_nobody.dev', { group_id, content: 'hi' })).reply.code,
    ).toBe(401)
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'sg_gate_m'`)
    const disabled = await callAction(app, s.h, 'msg.send_group', member.clientId, { group_id, content: 'hi' })
    expect([disabled.reply.code, disabled.reply.message]).toEqual([403, 'employee is disabled'])
    expect(disabled.deliveries).toEqual([])

    // No reply was stored for the refused requests: the same seq_id may be sent again once allowed.
    const seq = nextSeq()
    expect(
      (await callAction(app, s.h, 'msg.send_group', out.clientId, { group_id, content: 'retry' }, seq)).reply.code,
    ).toBe(403)
    expect(
      (await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: ['sg_gate_out'] })).reply
        .code,
    ).toBe(0)
    const retried = await callAction(app, s.h, 'msg.send_group', out.clientId, { group_id, content: 'retry' }, seq)
    expect(retried.reply.code).toBe(0)
    expect(groupMessage.parse(retried.deliveries[0]!.payload).from_employee_id).toBe('sg_gate_out')
  })

  it('a repeated request returns the same msg_id and delivery; another body under the seq_id is 409; the content is stored nowhere', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'sg_rep_owner' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Rep', ['sg_rep_owner'])
    const seq = nextSeq()
    const secret = `secret-group-content-${seq}`
    const first = await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content: secret }, seq)
    expect(first.reply.code).toBe(0)
    const again = await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content: secret }, seq)
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    expect(again.deliveries).toHaveLength(1)
    expect(again.deliveries[0]!.payload.content).toBe(secret)
    const other = await callAction(
      app,
      s.h,
      'msg.send_group',
      owner.clientId,
      { group_id, content: `${secret}-2` },
      seq,
    )
    expect([other.status, other.reply.code]).toEqual([409, 409])
    expect(other.deliveries).toEqual([])

    const structured = { type: 'image', body: { url: `https://cdn.example.com/${seq}-secret.png` } }
    expect(
      (await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content: structured })).reply.code,
    ).toBe(0)
    const tables = await s.h.db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
    expect(tables.rows.length).toBeGreaterThan(0)
    for (const { table_name } of tables.rows) {
      for (const needle of [secret, `${seq}-secret.png`]) {
        const hit = await s.h.db.query(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE t::text LIKE $1`, [
          `%${needle}%`,
        ])
        expect(hit.rows[0].n, `${table_name}: ${needle}`).toBe(0)
      }
    }
  })
})
