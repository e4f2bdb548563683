import { describe, expect, it } from 'vitest'
import { groupList } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('group.list', () => {
  it('lists the caller’s live groups with their role and size, not dismissed ones or others’', async () => {
    const me = await createAndBind(app, s.h, s.admin, { name: 'Lister', employee_id: 'gl_me' })
    const other = await createAndBind(app, s.h, s.admin, { name: 'Other', employee_id: 'gl_other' })
    const mine = (
      await callAction(app, s.h, 'group.create', me.clientId, { name: 'mine', member_ids: [other.employee_id] })
    ).reply.data.group_id
    const theirs = (
      await callAction(app, s.h, 'group.create', other.clientId, { name: 'theirs', member_ids: [me.employee_id] })
    ).reply.data.group_id
    await callAction(app, s.h, 'group.create', other.clientId, { name: 'not mine', member_ids: [other.employee_id] })
    const gone = (
      await callAction(app, s.h, 'group.create', me.clientId, { name: 'gone', member_ids: [me.employee_id] })
    ).reply.data.group_id
    expect(
      (
        await callAction(app, s.h, 'group.dismiss', me.clientId, {
          group_id: gone,
          ...(await challengeFor(app, s.h, me.clientId)),
        })
      ).reply.code,
    ).toBe(0)

    const a = await callAction(app, s.h, 'group.list', me.clientId)
    expect(a.reply.code).toBe(0)
    expect(groupList.reply.parse(a.reply.data).groups).toEqual([
      { group_id: mine, name: 'mine', role: 'owner', member_count: 2 },
      { group_id: theirs, name: 'theirs', role: 'member', member_count: 2 },
    ])
    expect((await callAction(app, s.h, 'group.list', 'gl_nobody.dev')).reply.code).toBe(401)
  })
})
