import { describe, expect, it } from 'vitest'
import { groupMemberRemove, memberRemovedNotice, NOTICE_TITLES } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, groupWith, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

const memberIdsOf = async (groupId: string) =>
  (
    await s.h.db.query('SELECT employee_id FROM group_member WHERE group_id = $1 ORDER BY employee_id', [groupId])
  ).rows.map((r) => r.employee_id as string)

describe('group.member_remove', () => {
  it('the owner removes the seed’s member: the reply counts who is left, only the removed are told, and they can no longer send', async () => {
    const { owner, group_id, m } = await groupWith(app, s.h, s.admin, 'gr_seed', ['a'])
    const wangwu = await createAndBind(app, s.h, s.admin, { name: '王五', employee_id: 'emp_wangwu_003' })
    expect(
      (await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: ['emp_wangwu_003'] }))
        .reply.code,
    ).toBe(0)
    expect(
      (await callAction(app, s.h, 'msg.send_group', wangwu.clientId, { group_id, content: 'before' })).reply.code,
    ).toBe(0)

    const a = await callAction(app, s.h, 'group.member_remove', owner.clientId, {
      group_id,
      member_ids: ['emp_wangwu_003'],
    })
    expect([a.status, a.reply.code]).toEqual([200, 0])
    const data = groupMemberRemove.reply.parse(a.reply.data)
    expect(data).toEqual({
      group_id,
      removed_ids: ['emp_wangwu_003'],
      current_member_count: 2,
      removed_at: expect.any(String),
    })
    expect(a.deliveries).toHaveLength(1)
    expect(a.deliveries[0]!.topic).toBe('mchat/inbox/emp_wangwu_003')
    expect(memberRemovedNotice.parse(a.deliveries[0]!.payload)).toEqual({
      notify_id: expect.any(String),
      type: 'member_removed',
      title: NOTICE_TITLES.member_removed,
      body: { group_id, group_name: 'gr_seed group', operator_id: 'gr_seed_owner' },
      created_at: data.removed_at,
    })
    expect(await memberIdsOf(group_id)).toEqual(['gr_seed_a', 'gr_seed_owner'])

    const after = await callAction(app, s.h, 'msg.send_group', wangwu.clientId, { group_id, content: 'after' })
    expect([after.status, after.reply.code, after.reply.message]).toEqual([
      403,
      403,
      'group_id: only members can take part in this group',
    ])
    expect(after.deliveries).toEqual([])
    // Those still in keep sending.
    expect(
      (await callAction(app, s.h, 'msg.send_group', m.a!.clientId, { group_id, content: 'still here' })).reply.code,
    ).toBe(0)
  })

  it('a plain member may leave, but not remove anyone else', async () => {
    const { group_id, m } = await groupWith(app, s.h, s.admin, 'gr_leave', ['a', 'b'])
    for (const member_ids of [['gr_leave_b'], ['gr_leave_a', 'gr_leave_b'], ['gr_leave_owner']]) {
      const refused = await callAction(app, s.h, 'group.member_remove', m.a!.clientId, { group_id, member_ids })
      expect([refused.status, refused.reply.code, refused.reply.message], member_ids.join()).toEqual([
        403,
        403,
        "only the group's owner or admins, or org admins, can remove others",
      ])
      expect(refused.deliveries).toEqual([])
    }
    expect(await memberIdsOf(group_id)).toEqual(['gr_leave_a', 'gr_leave_b', 'gr_leave_owner'])

    const left = await callAction(app, s.h, 'group.member_remove', m.a!.clientId, {
      group_id,
      member_ids: ['gr_leave_a'],
    })
    expect(groupMemberRemove.reply.parse(left.reply.data)).toMatchObject({
      removed_ids: ['gr_leave_a'],
      current_member_count: 2,
    })
    expect(left.deliveries.map((d) => d.topic)).toEqual(['mchat/inbox/gr_leave_a'])
    expect(memberRemovedNotice.parse(left.deliveries[0]!.payload).body.operator_id).toBe('gr_leave_a')
    expect(await memberIdsOf(group_id)).toEqual(['gr_leave_b', 'gr_leave_owner'])
  })

  it('someone outside the group cannot "leave" it to learn about it', async () => {
    const { group_id } = await groupWith(app, s.h, s.admin, 'gr_out', ['a'])
    const out = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'gr_out_x' })
    const a = await callAction(app, s.h, 'group.member_remove', out.clientId, { group_id, member_ids: ['gr_out_x'] })
    expect([a.status, a.reply.code, a.reply.message, a.reply.data]).toEqual([
      403,
      403,
      'group_id: only members can leave this group',
      null,
    ])
    expect(a.deliveries).toEqual([])
    const b = await callAction(app, s.h, 'group.member_remove', out.clientId, { group_id, member_ids: ['gr_out_a'] })
    expect(b.reply.code).toBe(403)
    expect(await memberIdsOf(group_id)).toEqual(['gr_out_a', 'gr_out_owner'])
  })

  it('group admins and org admins remove others; ids not in the group are skipped', async () => {
    const { group_id, m } = await groupWith(app, s.h, s.admin, 'gr_mgr', ['gadmin', 'a', 'b', 'c'])
    await s.h.db.query(`UPDATE group_member SET role = 'admin' WHERE group_id = $1 AND employee_id = 'gr_mgr_gadmin'`, [
      group_id,
    ])
    await s.h.db.query(`INSERT INTO employee (employee_id, name) VALUES ('gr_mgr_outside', 'O') ON CONFLICT DO NOTHING`)

    const byGroupAdmin = await callAction(app, s.h, 'group.member_remove', m.gadmin!.clientId, {
      group_id,
      member_ids: ['gr_mgr_a', 'gr_mgr_outside', 'gr_mgr_ghost'],
    })
    expect(groupMemberRemove.reply.parse(byGroupAdmin.reply.data)).toMatchObject({
      removed_ids: ['gr_mgr_a'],
      current_member_count: 4,
    })
    expect(byGroupAdmin.deliveries.map((d) => d.topic)).toEqual(['mchat/inbox/gr_mgr_a'])

    const byOrgAdmin = await callAction(app, s.h, 'group.member_remove', s.admin, {
      group_id,
      member_ids: ['gr_mgr_b', 'gr_mgr_c'],
    })
    const data = groupMemberRemove.reply.parse(byOrgAdmin.reply.data)
    expect(data).toMatchObject({ removed_ids: ['gr_mgr_b', 'gr_mgr_c'], current_member_count: 2 })
    expect(byOrgAdmin.deliveries.map((d) => d.topic)).toEqual(['mchat/inbox/gr_mgr_b', 'mchat/inbox/gr_mgr_c'])
    const notices = byOrgAdmin.deliveries.map((d) => memberRemovedNotice.parse(d.payload))
    expect(notices[1]).toEqual(notices[0])
    expect(notices[0]!.body.operator_id).toBe('admin')
    expect(await memberIdsOf(group_id)).toEqual(['gr_mgr_gadmin', 'gr_mgr_owner'])

    // Ids that are names of object properties are not members of every group.
    const proto = await callAction(app, s.h, 'group.member_remove', s.admin, {
      group_id,
      member_ids: ['constructor', 'toString', '__proto__'],
    })
    expect(groupMemberRemove.reply.parse(proto.reply.data)).toMatchObject({ removed_ids: [], current_member_count: 2 })
    expect(proto.deliveries).toEqual([])
  })

  it('409 for removing the owner, whoever asks; nobody is removed with them', async () => {
    const { owner, group_id, m } = await groupWith(app, s.h, s.admin, 'gr_owner', ['gadmin', 'a'])
    await s.h.db.query(
      `UPDATE group_member SET role = 'admin' WHERE group_id = $1 AND employee_id = 'gr_owner_gadmin'`,
      [group_id],
    )
    for (const [who, member_ids] of [
      [owner.clientId, ['gr_owner_owner']],
      [m.gadmin!.clientId, ['gr_owner_a', 'gr_owner_owner']],
      [s.admin, ['gr_owner_owner']],
    ] as const) {
      const a = await callAction(app, s.h, 'group.member_remove', who, { group_id, member_ids: [...member_ids] })
      expect([a.status, a.reply.code, a.reply.message], who).toEqual([
        409,
        409,
        'member_ids: the owner cannot be removed; dismiss the group instead',
      ])
      expect(a.deliveries).toEqual([])
    }
    expect(await memberIdsOf(group_id)).toEqual(['gr_owner_a', 'gr_owner_gadmin', 'gr_owner_owner'])
  })

  it('404 for an unknown or dismissed group; 400 for no ids', async () => {
    const { owner, group_id } = await groupWith(app, s.h, s.admin, 'gr_404', ['a'])
    const unknown = await callAction(app, s.h, 'group.member_remove', owner.clientId, {
      group_id: 'grp_gr_none',
      member_ids: ['gr_404_a'],
    })
    expect([unknown.status, unknown.reply.code, unknown.reply.message]).toEqual([404, 404, 'group_id: no such group'])
    const empty = await callAction(app, s.h, 'group.member_remove', owner.clientId, { group_id, member_ids: [] })
    expect([empty.reply.code, empty.reply.message]).toEqual([400, 'member_ids: must not be empty'])
    const d = await callAction(app, s.h, 'group.dismiss', owner.clientId, {
      group_id,
      ...(await challengeFor(app, s.h, owner.clientId, 'group.dismiss')),
    })
    expect(d.reply.code).toBe(0)
    const late = await callAction(app, s.h, 'group.member_remove', owner.clientId, {
      group_id,
      member_ids: ['gr_404_a'],
    })
    expect([late.status, late.reply.code, late.reply.message]).toEqual([404, 404, 'group_id: the group was dismissed'])
    expect(await memberIdsOf(group_id)).toEqual(['gr_404_a', 'gr_404_owner'])
  })

  it('a repeated request returns the same reply and notices', async () => {
    const { owner, group_id } = await groupWith(app, s.h, s.admin, 'gr_rep', ['a', 'b'])
    const seq = nextSeq()
    const first = await callAction(
      app,
      s.h,
      'group.member_remove',
      owner.clientId,
      { group_id, member_ids: ['gr_rep_a'] },
      seq,
    )
    expect(first.reply.code).toBe(0)
    const again = await callAction(
      app,
      s.h,
      'group.member_remove',
      owner.clientId,
      { group_id, member_ids: ['gr_rep_a'] },
      seq,
    )
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    expect(again.deliveries).toHaveLength(1)
    expect(groupMemberRemove.reply.parse(again.reply.data).current_member_count).toBe(2)
    const other = await callAction(
      app,
      s.h,
      'group.member_remove',
      owner.clientId,
      { group_id, member_ids: ['gr_rep_b'] },
      seq,
    )
    expect(other.reply.code).toBe(409)
    expect(await memberIdsOf(group_id)).toEqual(['gr_rep_b', 'gr_rep_owner'])
  })
})
