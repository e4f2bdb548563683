import { describe, expect, it } from 'vitest'
import { msgReadAck, readReceipt } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, createGroup, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('msg.read_ack', () => {
  it('the seed’s private receipt goes to the peer’s inbox', async () => {
    await createAndBind(app, s.h, s.admin, { name: '张三', employee_id: 'emp_zhangsan_001' })
    const ls = await createAndBind(app, s.h, s.admin, { name: '李四', employee_id: 'emp_lisi_002' })
    const a = await callAction(app, s.h, 'msg.read_ack', ls.clientId, {
      msg_id: 'msg_abc123',
      conversation_type: 'private',
      peer_employee_id: 'emp_zhangsan_001',
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = msgReadAck.reply.parse(a.reply.data)
    expect(data).toEqual({ msg_id: 'msg_abc123', read_at: expect.any(String) })
    expect(a.deliveries).toHaveLength(1)
    expect(a.deliveries[0]!.topic).toBe('mchat/inbox/emp_zhangsan_001')
    expect(a.deliveries[0]!.payload).toEqual({
      type: 'read_ack',
      msg_id: 'msg_abc123',
      conversation_type: 'private',
      reader_id: 'emp_lisi_002',
      read_at: data.read_at,
    })
    expect(readReceipt.parse(a.deliveries[0]!.payload)).toEqual(a.deliveries[0]!.payload)
  })

  it('404 for an unknown peer; 400 naming the missing or wrong fields', async () => {
    const r = await createAndBind(app, s.h, s.admin, { name: 'R', employee_id: 'ra_400_r' })
    const unknown = await callAction(app, s.h, 'msg.read_ack', r.clientId, {
      msg_id: 'msg_1',
      conversation_type: 'private',
      peer_employee_id: 'ra_ghost',
    })
    expect([unknown.status, unknown.reply.code, unknown.reply.message]).toEqual([
      404,
      404,
      'peer_employee_id: no such employee',
    ])
    expect(unknown.deliveries).toEqual([])

    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ msg_id: 'msg_1', conversation_type: 'group' }, /^group_id: /],
      [{ msg_id: 'msg_1', conversation_type: 'private' }, /^peer_employee_id: /],
      [{ conversation_type: 'private', peer_employee_id: 'ra_400_r' }, /^msg_id: /],
      [{ msg_id: 'msg_1', conversation_type: 'channel', group_id: 'grp_x' }, /^conversation_type: /],
      [{ msg_id: '', conversation_type: 'private', peer_employee_id: 'ra_400_r' }, /^msg_id: /],
    ]
    for (const [payload, message] of cases) {
      const a = await callAction(app, s.h, 'msg.read_ack', r.clientId, payload)
      expect([a.status, a.reply.code], JSON.stringify(payload)).toEqual([400, 400])
      expect(a.reply.message).toMatch(message)
      expect(a.deliveries).toEqual([])
    }
  })

  it('a group receipt goes on the group topic, from members only: 403 for others, 404 for unknown or dismissed groups', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ra_grp_owner' })
    const m = await createAndBind(app, s.h, s.admin, { name: 'M', employee_id: 'ra_grp_m' })
    const out = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'ra_grp_out' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Receipts', ['ra_grp_m'])
    const a = await callAction(app, s.h, 'msg.read_ack', m.clientId, {
      msg_id: 'msg_grp_xyz789',
      conversation_type: 'group',
      group_id,
    })
    expect(a.reply.code).toBe(0)
    const data = msgReadAck.reply.parse(a.reply.data)
    expect(a.deliveries).toHaveLength(1)
    expect(a.deliveries[0]!.topic).toBe(`mchat/group/${group_id}`)
    expect(readReceipt.parse(a.deliveries[0]!.payload)).toEqual({
      type: 'read_ack',
      msg_id: 'msg_grp_xyz789',
      conversation_type: 'group',
      group_id,
      reader_id: 'ra_grp_m',
      read_at: data.read_at,
    })

    const refused = await callAction(app, s.h, 'msg.read_ack', out.clientId, {
      msg_id: 'msg_grp_xyz789',
      conversation_type: 'group',
      group_id,
    })
    expect([refused.status, refused.reply.code, refused.reply.message]).toEqual([
      403,
      403,
      'group_id: only members can take part in this group',
    ])
    expect(refused.deliveries).toEqual([])
    const unknown = await callAction(app, s.h, 'msg.read_ack', m.clientId, {
      msg_id: 'msg_1',
      conversation_type: 'group',
      group_id: 'grp_ra_none',
    })
    expect([unknown.status, unknown.reply.code, unknown.reply.message]).toEqual([404, 404, 'group_id: no such group'])

    // Removed members are outsiders.
    expect(
      (await callAction(app, s.h, 'group.member_remove', m.clientId, { group_id, member_ids: ['ra_grp_m'] })).reply
        .code,
    ).toBe(0)
    expect(
      (
        await callAction(app, s.h, 'msg.read_ack', m.clientId, {
          msg_id: 'msg_2',
          conversation_type: 'group',
          group_id,
        })
      ).reply.code,
    ).toBe(403)

    const d = await callAction(app, s.h, 'group.dismiss', owner.clientId, {
      group_id,
      ...(await challengeFor(app, s.h, owner.clientId, 'group.dismiss')),
    })
    expect(d.reply.code).toBe(0)
    const late = await callAction(app, s.h, 'msg.read_ack', owner.clientId, {
      msg_id: 'msg_3',
      conversation_type: 'group',
      group_id,
    })
    expect([late.status, late.reply.code, late.reply.message]).toEqual([404, 404, 'group_id: the group was dismissed'])
    expect(late.deliveries).toEqual([])
  })

  it('a repeated receipt returns the same read_at and delivery; another body under the seq_id is 409', async () => {
    const r = await createAndBind(app, s.h, s.admin, { name: 'R', employee_id: 'ra_rep_r' })
    await createAndBind(app, s.h, s.admin, { name: 'P', employee_id: 'ra_rep_p' })
    const group_id = await createGroup(app, s.h, r.clientId, 'RepAck', ['ra_rep_p'])
    for (const payload of [
      { msg_id: 'msg_rep_1', conversation_type: 'private', peer_employee_id: 'ra_rep_p' },
      { msg_id: 'msg_rep_2', conversation_type: 'group', group_id },
    ]) {
      const seq = nextSeq()
      const first = await callAction(app, s.h, 'msg.read_ack', r.clientId, payload, seq)
      expect(first.reply.code).toBe(0)
      const again = await callAction(app, s.h, 'msg.read_ack', r.clientId, payload, seq)
      expect(again.reply).toEqual(first.reply)
      expect(again.deliveries).toEqual(first.deliveries)
      expect(again.deliveries[0]!.payload.read_at).toBe(first.reply.data.read_at)
      const other = await callAction(app, s.h, 'msg.read_ack', r.clientId, { ...payload, msg_id: 'msg_rep_other' }, seq)
      expect([other.status, other.reply.code]).toEqual([409, 409])
      expect(other.deliveries).toEqual([])
    }
  })
})
