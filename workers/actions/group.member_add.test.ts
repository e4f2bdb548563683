import { describe, expect, it } from 'vitest'
import { GROUP_MAX_MEMBERS, groupMemberAdd, memberJoinedNotice } from '../../schema/index.ts'
import {
  bulkEmployees,
  callAction,
  challengeFor,
  createAndBind,
  createGroup,
  nextSeq,
} from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

const membersOf = async (groupId: string) =>
  (await s.h.db.query('SELECT employee_id, role FROM group_member WHERE group_id = $1 ORDER BY employee_id', [groupId]))
    .rows as Array<{ employee_id: string; role: string }>

describe('group.member_add', () => {
  it('adds the seed’s employee: the reply counts the members and only the added get member_joined', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_seed_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'M', employee_id: 'ga_seed_m' })
    await createAndBind(app, s.h, s.admin, { name: '王五', employee_id: 'emp_wangwu_003' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'XX项目组', ['ga_seed_m'])
    const a = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['emp_wangwu_003'],
    })
    expect([a.status, a.reply.code]).toEqual([200, 0])
    const data = groupMemberAdd.reply.parse(a.reply.data)
    expect(data).toEqual({
      group_id,
      added_ids: ['emp_wangwu_003'],
      current_member_count: 3,
      added_at: expect.any(String),
    })
    expect(a.deliveries).toHaveLength(1)
    expect(a.deliveries[0]!.topic).toBe('mchat/inbox/emp_wangwu_003')
    expect(memberJoinedNotice.parse(a.deliveries[0]!.payload)).toEqual({
      notify_id: expect.any(String),
      type: 'member_joined',
      title: '入群通知',
      body: { group_id, group_name: 'XX项目组', inviter_id: 'ga_seed_owner' },
      created_at: data.added_at,
    })
    expect(await membersOf(group_id)).toEqual([
      { employee_id: 'emp_wangwu_003', role: 'member' },
      { employee_id: 'ga_seed_m', role: 'member' },
      { employee_id: 'ga_seed_owner', role: 'owner' },
    ])
  })

  it('skips those already in the group; the count and the notices cover only the new', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_skip_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'In', employee_id: 'ga_skip_in' })
    await createAndBind(app, s.h, s.admin, { name: 'New1', employee_id: 'ga_skip_new1' })
    await createAndBind(app, s.h, s.admin, { name: 'New2', employee_id: 'ga_skip_new2' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Skip', ['ga_skip_in'])
    const a = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['ga_skip_in', 'ga_skip_new2', 'ga_skip_owner', 'ga_skip_new1', 'ga_skip_new2'],
    })
    const data = groupMemberAdd.reply.parse(a.reply.data)
    expect(data.added_ids).toEqual(['ga_skip_new2', 'ga_skip_new1'])
    expect(data.current_member_count).toBe(4)
    expect(a.deliveries.map((d) => d.topic)).toEqual(['mchat/inbox/ga_skip_new2', 'mchat/inbox/ga_skip_new1'])
    expect(new Set(a.deliveries.map((d) => memberJoinedNotice.parse(d.payload).notify_id)).size).toBe(1)

    // Everyone already in: nothing added, nobody told, the owner keeps their role.
    const none = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['ga_skip_in', 'ga_skip_owner'],
    })
    expect(groupMemberAdd.reply.parse(none.reply.data)).toMatchObject({ added_ids: [], current_member_count: 4 })
    expect(none.deliveries).toEqual([])
    expect((await membersOf(group_id)).find((m) => m.employee_id === 'ga_skip_owner')?.role).toBe('owner')
  })

  it('employee ids that are names of object properties are added like any other', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_proto_owner' })
    await s.h.db.query(
      `INSERT INTO employee (employee_id, name) VALUES ('constructor', 'C'), ('toString', 'T'), ('__proto__', 'P')`,
    )
    const group_id = await createGroup(app, s.h, owner.clientId, 'Proto', ['ga_proto_owner'])
    const a = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['constructor', 'toString', '__proto__'],
    })
    expect(groupMemberAdd.reply.parse(a.reply.data)).toMatchObject({
      added_ids: ['constructor', 'toString', '__proto__'],
      current_member_count: 4,
    })
    expect(a.deliveries.map((d) => d.topic)).toEqual([
      'mchat/inbox/constructor',
      'mchat/inbox/toString',
      'mchat/inbox/__proto__',
    ])
    expect((await membersOf(group_id)).map((m) => m.employee_id).sort()).toEqual([
      '__proto__',
      'constructor',
      'ga_proto_owner',
      'toString',
    ])
    // Now they are members, and a repeat skips them.
    const again = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['constructor', '__proto__'],
    })
    expect(groupMemberAdd.reply.parse(again.reply.data)).toMatchObject({ added_ids: [], current_member_count: 4 })
  })

  it('group owners and admins and org admins add members; a plain member or an outsider gets 403 saying who may', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_perm_owner' })
    const gadmin = await createAndBind(app, s.h, s.admin, { name: 'GroupAdmin', employee_id: 'ga_perm_gadmin' })
    const plain = await createAndBind(app, s.h, s.admin, { name: 'Plain', employee_id: 'ga_perm_plain' })
    const outsider = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'ga_perm_out' })
    for (const id of ['ga_perm_x1', 'ga_perm_x2', 'ga_perm_x3'])
      await createAndBind(app, s.h, s.admin, { name: id, employee_id: id })
    const group_id = await createGroup(app, s.h, owner.clientId, 'Perm', ['ga_perm_gadmin', 'ga_perm_plain'])
    await s.h.db.query(
      `UPDATE group_member SET role = 'admin' WHERE group_id = $1 AND employee_id = 'ga_perm_gadmin'`,
      [group_id],
    )

    for (const c of [plain, outsider]) {
      const a = await callAction(app, s.h, 'group.member_add', c.clientId, { group_id, member_ids: ['ga_perm_x1'] })
      expect([a.status, a.reply.code, a.reply.message], c.employee_id).toEqual([
        403,
        403,
        "only the group's owner or admins, or org admins, can add members",
      ])
      expect(a.deliveries).toEqual([])
    }
    // An outsider cannot add themselves either.
    expect(
      (await callAction(app, s.h, 'group.member_add', outsider.clientId, { group_id, member_ids: ['ga_perm_out'] }))
        .reply.code,
    ).toBe(403)
    expect((await membersOf(group_id)).map((m) => m.employee_id)).not.toContain('ga_perm_x1')

    const byGroupAdmin = await callAction(app, s.h, 'group.member_add', gadmin.clientId, {
      group_id,
      member_ids: ['ga_perm_x1'],
    })
    expect(groupMemberAdd.reply.parse(byGroupAdmin.reply.data).added_ids).toEqual(['ga_perm_x1'])
    expect(memberJoinedNotice.parse(byGroupAdmin.deliveries[0]!.payload).body.inviter_id).toBe('ga_perm_gadmin')
    // The org admin is not in the group and still may.
    const byOrgAdmin = await callAction(app, s.h, 'group.member_add', s.admin, { group_id, member_ids: ['ga_perm_x2'] })
    expect(groupMemberAdd.reply.parse(byOrgAdmin.reply.data).added_ids).toEqual(['ga_perm_x2'])
    expect(memberJoinedNotice.parse(byOrgAdmin.deliveries[0]!.payload).body.inviter_id).toBe('admin')
    const byOwner = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['ga_perm_x3'],
    })
    expect(groupMemberAdd.reply.parse(byOwner.reply.data)).toMatchObject({
      added_ids: ['ga_perm_x3'],
      current_member_count: 6,
    })
  })

  it('404 for an unknown or dismissed group, 404/403 naming unknown and disabled employees', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_404_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'M', employee_id: 'ga_404_m' })
    await createAndBind(app, s.h, s.admin, { name: 'Off', employee_id: 'ga_404_off' })
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'ga_404_off'`)

    const unknown = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id: 'grp_no_such_group',
      member_ids: ['ga_404_m'],
    })
    expect([unknown.status, unknown.reply.code, unknown.reply.message]).toEqual([404, 404, 'group_id: no such group'])

    const group_id = await createGroup(app, s.h, owner.clientId, 'G404', ['ga_404_owner'])
    const ghost = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: ['ga_404_m', 'ga_404_ghost'],
    })
    expect([ghost.reply.code, ghost.reply.message]).toEqual([404, 'member_ids: no such employee: ga_404_ghost'])
    const off = await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: ['ga_404_off'] })
    expect([off.reply.code, off.reply.message]).toEqual([403, 'member_ids: disabled employees cannot join: ga_404_off'])
    expect((await membersOf(group_id)).map((m) => m.employee_id)).toEqual(['ga_404_owner'])
    const empty = await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: [] })
    expect([empty.reply.code, empty.reply.message]).toEqual([400, 'member_ids: must not be empty'])

    const dismissed = await callAction(app, s.h, 'group.dismiss', owner.clientId, {
      group_id,
      ...(await challengeFor(app, s.h, owner.clientId, 'group.dismiss')),
    })
    expect(dismissed.reply.code).toBe(0)
    const late = await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: ['ga_404_m'] })
    expect([late.status, late.reply.code, late.reply.message]).toEqual([404, 404, 'group_id: the group was dismissed'])
    expect(late.deliveries).toEqual([])
    expect((await membersOf(group_id)).map((m) => m.employee_id)).toEqual(['ga_404_owner'])
  })

  it(`fills a group to ${GROUP_MAX_MEMBERS} in one request, and refuses one more with 400`, async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_full_owner' })
    const others = await bulkEmployees(s.h, 'ga_full', GROUP_MAX_MEMBERS - 1)
    const extra = await bulkEmployees(s.h, 'ga_extra', 2)
    const group_id = await createGroup(app, s.h, owner.clientId, 'Fill', ['ga_full_owner'])

    const a = await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: others })
    expect(a.reply.code).toBe(0)
    const data = groupMemberAdd.reply.parse(a.reply.data)
    expect(data.added_ids).toEqual(others)
    expect(data.current_member_count).toBe(GROUP_MAX_MEMBERS)
    expect(a.deliveries).toHaveLength(GROUP_MAX_MEMBERS - 1)
    expect(new Set(a.deliveries.map((d) => d.topic)).size).toBe(GROUP_MAX_MEMBERS - 1)
    expect(a.deliveries.map((d) => d.topic)).not.toContain('mchat/inbox/ga_full_owner')
    for (const d of a.deliveries) memberJoinedNotice.parse(d.payload)
    expect(
      (await s.h.db.query('SELECT count(*)::int AS n FROM group_member WHERE group_id = $1', [group_id])).rows[0].n,
    ).toBe(GROUP_MAX_MEMBERS)

    const over = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: [extra[0]!, others[0]!],
    })
    expect([over.status, over.reply.code]).toEqual([400, 400])
    expect(over.reply.message).toBe(
      `member_ids: the group would have ${GROUP_MAX_MEMBERS + 1} members, more than ${GROUP_MAX_MEMBERS}`,
    )
    expect(over.deliveries).toEqual([])
    expect(
      (await s.h.db.query('SELECT count(*)::int AS n FROM group_member WHERE group_id = $1', [group_id])).rows[0].n,
    ).toBe(GROUP_MAX_MEMBERS)

    // Those already in do not count against the limit.
    const skipped = await callAction(app, s.h, 'group.member_add', owner.clientId, {
      group_id,
      member_ids: others.slice(0, 10),
    })
    expect(groupMemberAdd.reply.parse(skipped.reply.data)).toMatchObject({
      added_ids: [],
      current_member_count: GROUP_MAX_MEMBERS,
    })
  })

  it('a repeated request returns the same reply and notices without adding twice', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'ga_rep_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'N', employee_id: 'ga_rep_n' })
    const group_id = await createGroup(app, s.h, owner.clientId, 'RepAdd', ['ga_rep_owner'])
    const seq = nextSeq()
    const first = await callAction(
      app,
      s.h,
      'group.member_add',
      owner.clientId,
      { group_id, member_ids: ['ga_rep_n'] },
      seq,
    )
    const again = await callAction(
      app,
      s.h,
      'group.member_add',
      owner.clientId,
      { group_id, member_ids: ['ga_rep_n'] },
      seq,
    )
    expect(groupMemberAdd.reply.parse(first.reply.data).added_ids).toEqual(['ga_rep_n'])
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    expect(again.deliveries).toHaveLength(1)
    expect((await membersOf(group_id)).map((m) => m.employee_id)).toEqual(['ga_rep_n', 'ga_rep_owner'])
  })

  it('concurrent additions that fit alone but not together: one is refused, the group never exceeds the limit', async () => {
    const half = GROUP_MAX_MEMBERS / 2
    const [a, b] = [await bulkEmployees(s.h, 'gmarace_a', half), await bulkEmployees(s.h, 'gmarace_b', half)]
    const group_id = await createGroup(app, s.h, s.admin, 'race', [a[0]!])
    const answers = await Promise.all([
      callAction(app, s.h, 'group.member_add', s.admin, { group_id, member_ids: a.slice(1) }),
      callAction(app, s.h, 'group.member_add', s.admin, { group_id, member_ids: b }),
    ])
    expect(answers.map((x) => x.reply.code).sort()).toEqual([0, 400])
    const { rows } = await s.h.db.query('SELECT count(*)::int AS n FROM group_member WHERE group_id = $1', [group_id])
    expect(rows[0].n).toBeLessThanOrEqual(GROUP_MAX_MEMBERS)
  })
})
