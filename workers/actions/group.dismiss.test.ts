import { describe, expect, it } from 'vitest'
import { groupDismiss, groupDismissedNotice, NOTICE_TITLES } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, createGroup, groupWith, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

const dismissedAt = async (groupId: string) =>
  (await s.h.db.query('SELECT dismissed_at FROM chat_group WHERE group_id = $1', [groupId])).rows[0]?.dismissed_at ??
  null
const usedAt = async (challengeId: string) =>
  (await s.h.db.query('SELECT used_at FROM auth_challenge WHERE challenge_id = $1', [challengeId])).rows[0]?.used_at ??
  null

describe('group.dismiss', () => {
  it('is sensitive: without a challenge it is 403 pointing at auth.challenge, and the group lives on', async () => {
    const { owner, group_id } = await groupWith(app, s.h, s.admin, 'gd_nochal', ['a'])
    const a = await callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id })
    expect([a.status, a.reply.code, a.reply.data]).toEqual([403, 403, null])
    expect(a.reply.message).toContain('auth.challenge')
    expect(a.deliveries).toEqual([])
    const onlyId = await callAction(app, s.h, 'group.dismiss', owner.clientId, {
      group_id,
      challenge_id: (await challengeFor(app, s.h, owner.clientId)).challenge_id,
    })
    expect([onlyId.reply.code, onlyId.reply.message]).toEqual([403, expect.stringContaining('auth.challenge')])
    expect(await dismissedAt(group_id)).toBeNull()
    expect(
      (await callAction(app, s.h, 'msg.send_group', owner.clientId, { group_id, content: 'still alive' })).reply.code,
    ).toBe(0)
  })

  it('with a challenge: dismissed_at in the reply, group_dismissed to every member, then the group is gone for send, member_add and dismiss', async () => {
    const { owner, group_id, m } = await groupWith(app, s.h, s.admin, 'gd_ok', ['a', 'b'])
    await createAndBind(app, s.h, s.admin, { name: 'Late', employee_id: 'gd_ok_late' })
    const ch = await challengeFor(app, s.h, owner.clientId, 'group.dismiss')
    const a = await callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id, ...ch })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = groupDismiss.reply.parse(a.reply.data)
    expect(data).toEqual({ group_id, dismissed_at: expect.any(String) })
    expect(new Date(await dismissedAt(group_id)).toISOString()).toBe(data.dismissed_at)
    expect(await usedAt(ch.challenge_id)).not.toBeNull()

    expect(a.deliveries.map((d) => d.topic).sort()).toEqual([
      'mchat/inbox/gd_ok_a',
      'mchat/inbox/gd_ok_b',
      'mchat/inbox/gd_ok_owner',
    ])
    const notices = a.deliveries.map((d) => groupDismissedNotice.parse(d.payload))
    for (const n of notices) {
      expect(n).toEqual({
        notify_id: notices[0]!.notify_id,
        type: 'group_dismissed',
        title: NOTICE_TITLES.group_dismissed,
        body: { group_id, group_name: 'gd_ok group', operator_id: 'gd_ok_owner' },
        created_at: data.dismissed_at,
      })
    }
    // Kept for the audit trail, not deleted.
    expect(
      (await s.h.db.query('SELECT count(*)::int AS n FROM group_member WHERE group_id = $1', [group_id])).rows[0].n,
    ).toBe(3)
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, result_code FROM audit_log WHERE action = 'group.dismiss' AND client_id = $1`,
      [owner.clientId],
    )
    expect(audit.rows).toEqual([{ operator_employee_id: 'gd_ok_owner', params: { group_id }, result_code: 0 }])

    const send = await callAction(app, s.h, 'msg.send_group', m.a!.clientId, { group_id, content: 'anyone?' })
    expect([send.status, send.reply.code, send.reply.message]).toEqual([404, 404, 'group_id: the group was dismissed'])
    expect(send.deliveries).toEqual([])
    const add = await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id, member_ids: ['gd_ok_late'] })
    expect([add.reply.code, add.reply.message]).toEqual([404, 'group_id: the group was dismissed'])
    const ch2 = await challengeFor(app, s.h, owner.clientId, 'group.dismiss')
    const twice = await callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id, ...ch2 })
    expect([twice.status, twice.reply.code, twice.reply.message]).toEqual([
      404,
      404,
      'group_id: the group was dismissed',
    ])
    expect(twice.deliveries).toEqual([])
    expect(await usedAt(ch2.challenge_id)).toBeNull()
    expect(new Date(await dismissedAt(group_id)).toISOString()).toBe(data.dismissed_at)
  })

  it('only the group’s owner or admins, or org admins, dismiss it; a refusal does not spend the challenge', async () => {
    const { group_id, m } = await groupWith(app, s.h, s.admin, 'gd_perm', ['gadmin', 'plain'])
    const outsider = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'gd_perm_out' })
    await s.h.db.query(
      `UPDATE group_member SET role = 'admin' WHERE group_id = $1 AND employee_id = 'gd_perm_gadmin'`,
      [group_id],
    )
    for (const c of [m.plain!, outsider]) {
      const ch = await challengeFor(app, s.h, c.clientId, 'group.dismiss')
      const a = await callAction(app, s.h, 'group.dismiss', c.clientId, { group_id, ...ch })
      expect([a.status, a.reply.code, a.reply.message], c.employee_id).toEqual([
        403,
        403,
        "only the group's owner or admins, or org admins, can dismiss the group",
      ])
      expect(a.deliveries).toEqual([])
      expect(await usedAt(ch.challenge_id)).toBeNull()
    }
    // Without a challenge a non-manager learns only that they may not.
    const bare = await callAction(app, s.h, 'group.dismiss', m.plain!.clientId, { group_id })
    expect(bare.reply.message).toBe("only the group's owner or admins, or org admins, can dismiss the group")
    expect(await dismissedAt(group_id)).toBeNull()

    const byGroupAdmin = await callAction(app, s.h, 'group.dismiss', m.gadmin!.clientId, {
      group_id,
      ...(await challengeFor(app, s.h, m.gadmin!.clientId, 'group.dismiss')),
    })
    expect(byGroupAdmin.reply.code).toBe(0)
    expect(groupDismissedNotice.parse(byGroupAdmin.deliveries[0]!.payload).body.operator_id).toBe('gd_perm_gadmin')

    const other = await groupWith(app, s.h, s.admin, 'gd_perm2', ['a'])
    const byOrgAdmin = await callAction(app, s.h, 'group.dismiss', s.admin, {
      group_id: other.group_id,
      ...(await challengeFor(app, s.h, s.admin)),
    })
    expect(byOrgAdmin.reply.code).toBe(0)
    expect(byOrgAdmin.deliveries.map((d) => d.topic).sort()).toEqual([
      'mchat/inbox/gd_perm2_a',
      'mchat/inbox/gd_perm2_owner',
    ])
    expect(groupDismissedNotice.parse(byOrgAdmin.deliveries[0]!.payload).body.operator_id).toBe('admin')
  })

  it('refuses a wrong token, another employee’s challenge, one for another action and a spent one', async () => {
    const { owner, group_id, m } = await groupWith(app, s.h, s.admin, 'gd_bad', ['a'])
    const g2 = await createGroup(app, s.h, owner.clientId, 'gd_bad second', ['gd_bad_a'])
    const ch = await challengeFor(app, s.h, owner.clientId, 'group.dismiss')
    const cases: Array<[Record<string, string>, string]> = [
      [
        { ...ch, token: ch.token.slice(0, -2) + (ch.token.endsWith('AA') ? 'BB' : 'AA') },
        'challenge: unknown challenge_id or wrong token',
      ],
      [{ ...ch, challenge_id: 'ch_nope' }, 'challenge: unknown challenge_id or wrong token'],
      [await challengeFor(app, s.h, m.a!.clientId, 'group.dismiss'), 'challenge: issued to another employee'],
      [await challengeFor(app, s.h, owner.clientId, 'employee.update'), 'challenge: issued for another action'],
    ]
    for (const [fields, message] of cases) {
      const a = await callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id, ...fields })
      expect([a.status, a.reply.code, a.reply.message]).toEqual([403, 403, message])
      expect(a.deliveries).toEqual([])
    }
    expect(await dismissedAt(group_id)).toBeNull()
    expect(await usedAt(ch.challenge_id)).toBeNull()

    expect((await callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id, ...ch })).reply.code).toBe(0)
    const spent = await callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id: g2, ...ch })
    expect([spent.reply.code, spent.reply.message]).toEqual([403, 'challenge: already used'])
    expect(await dismissedAt(g2)).toBeNull()
  })

  it('404 for an unknown group', async () => {
    const a = await callAction(app, s.h, 'group.dismiss', s.admin, {
      group_id: 'grp_gd_none',
      ...(await challengeFor(app, s.h, s.admin, 'group.dismiss')),
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([404, 404, 'group_id: no such group'])
  })

  it('a repeated dismiss returns the identical reply and notices without spending the challenge again', async () => {
    const { owner, group_id } = await groupWith(app, s.h, s.admin, 'gd_rep', ['a', 'b'])
    const seq = nextSeq()
    const body = { group_id, ...(await challengeFor(app, s.h, owner.clientId, 'group.dismiss')) }
    const first = await callAction(app, s.h, 'group.dismiss', owner.clientId, body, seq)
    expect(first.reply.code).toBe(0)
    const again = await callAction(app, s.h, 'group.dismiss', owner.clientId, body, seq)
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    expect(again.deliveries).toHaveLength(3)
    const other = await callAction(
      app,
      s.h,
      'group.dismiss',
      owner.clientId,
      { ...body, group_id: 'grp_gd_other' },
      seq,
    )
    expect([other.status, other.reply.code]).toEqual([409, 409])
    const audit = await s.h.db.query(
      `SELECT result_code FROM audit_log WHERE action = 'group.dismiss' AND client_id = $1 ORDER BY audit_id`,
      [owner.clientId],
    )
    expect(audit.rows.map((r) => r.result_code)).toEqual([0, 409])
  })

  it('two concurrent dismissals: the group row is locked, one succeeds and the other is 404', async () => {
    const { owner, group_id } = await groupWith(app, s.h, s.admin, 'gdrace', ['a'])
    const [c1, c2] = [await challengeFor(app, s.h, owner.clientId), await challengeFor(app, s.h, s.admin)]
    const answers = await Promise.all([
      callAction(app, s.h, 'group.dismiss', owner.clientId, { group_id, ...c1 }),
      callAction(app, s.h, 'group.dismiss', s.admin, { group_id, ...c2 }),
    ])
    expect(answers.map((a) => a.reply.code).sort()).toEqual([0, 404])
    expect(answers.find((a) => a.reply.code === 404)!.reply.message).toMatch(/dismissed/)
    expect(answers.flatMap((a) => a.deliveries)).toHaveLength(2) // owner and a, once
  })
})
