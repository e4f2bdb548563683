import { describe, expect, it } from 'vitest'
import { groupMembers } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, groupWith } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('group.members', () => {
  it('lists members by employee_id with role, name, agent flag and join time, page by page', async () => {
    const { group_id, m } = await groupWith(app, s.h, s.admin, 'gm', ['a', 'b', 'c', 'd'])
    const all = []
    let cursor: string | null | undefined
    let pages = 0
    do {
      const r = await callAction(app, s.h, 'group.members', m.a!.clientId, {
        group_id,
        limit: 2,
        ...(cursor && { cursor }),
      })
      expect(r.reply.code).toBe(0)
      const data = groupMembers.reply.parse(r.reply.data)
      expect(data.member_count).toBe(5)
      expect(data.members.length).toBeLessThanOrEqual(2)
      all.push(...data.members)
      cursor = data.next_cursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(all.map((x) => [x.employee_id, x.role])).toEqual([
      ['gm_a', 'member'],
      ['gm_b', 'member'],
      ['gm_c', 'member'],
      ['gm_d', 'member'],
      ['gm_owner', 'owner'],
    ])
    expect(all[0]).toEqual({
      employee_id: 'gm_a',
      name: 'a',
      role: 'member',
      is_ai_agent: false,
      joined_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
  })

  it('members and org admins only; unknown or dismissed groups are 404; bad paging is 400 naming the field', async () => {
    const { owner, group_id } = await groupWith(app, s.h, s.admin, 'gm2', ['x'])
    const outsider = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'gm2_out' })
    const refused = await callAction(app, s.h, 'group.members', outsider.clientId, { group_id })
    expect([refused.reply.code, refused.reply.message]).toEqual([
      403,
      'group_id: only its members and org admins can list them',
    ])
    const admin = await callAction(app, s.h, 'group.members', s.admin, { group_id })
    expect(admin.reply.code).toBe(0) // the org admin is not a member
    expect(admin.reply.data.members.map((x: { employee_id: string }) => x.employee_id)).toEqual(['gm2_owner', 'gm2_x'])

    const unknown = await callAction(app, s.h, 'group.members', owner.clientId, { group_id: 'grp_nope' })
    expect([unknown.reply.code, unknown.reply.message]).toEqual([404, 'group_id: no such group'])
    for (const [payload, field] of [
      [{ group_id, limit: 0 }, 'limit'],
      [{ group_id, limit: 501 }, 'limit'],
      [{ group_id, cursor: 'a/b' }, 'cursor'],
      [{}, 'group_id'],
    ] as const) {
      const bad = await callAction(app, s.h, 'group.members', owner.clientId, payload)
      expect(bad.reply.code, JSON.stringify(payload)).toBe(400)
      expect(bad.reply.message).toMatch(new RegExp(`^${field}: `))
    }

    const dismissed = await callAction(app, s.h, 'group.dismiss', owner.clientId, {
      group_id,
      ...(await challengeFor(app, s.h, owner.clientId)),
    })
    expect(dismissed.reply.code).toBe(0)
    const gone = await callAction(app, s.h, 'group.members', owner.clientId, { group_id })
    expect([gone.reply.code, gone.reply.message]).toEqual([404, 'group_id: the group was dismissed'])
  })
})
