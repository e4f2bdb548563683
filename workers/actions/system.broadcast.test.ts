import { describe, expect, it } from 'vitest'
import { announcementNotice, SYSTEM_NOTIFY_TOPIC } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('system.broadcast', () => {
  it('an org admin announces on mchat/system/notify, audited with title and text; a replay announces the same notice', async () => {
    const payload = {
      title: '系统维护',
      content: '今晚 22:00 起维护 30 分钟。',
      ...(await challengeFor(app, s.h, s.admin)),
    }
    const seq = nextSeq()
    const a = await callAction(app, s.h, 'system.broadcast', s.admin, payload, seq)
    expect(a.reply.code).toBe(0)
    expect(a.deliveries.map((d) => d.topic)).toEqual([SYSTEM_NOTIFY_TOPIC])
    expect(announcementNotice.parse(a.deliveries[0]!.payload)).toEqual({
      notify_id: a.reply.data.notify_id,
      type: 'announcement',
      title: '系统维护',
      body: { content: '今晚 22:00 起维护 30 分钟。', operator_id: 'admin' },
      created_at: a.reply.data.created_at,
    })
    const again = await callAction(app, s.h, 'system.broadcast', s.admin, payload, seq)
    expect(again.reply).toEqual(a.reply)
    expect(again.deliveries).toEqual(a.deliveries)
    const { rows } = await s.h.db.query(
      `SELECT operator_employee_id, result_code, params FROM audit_log WHERE action = 'system.broadcast' ORDER BY audit_id`,
    )
    expect(rows).toEqual([
      {
        operator_employee_id: 'admin',
        result_code: 0,
        params: { title: '系统维护', content: '今晚 22:00 起维护 30 分钟。', notify_id: a.reply.data.notify_id },
      },
    ])
  })

  it('org admins only, with a challenge; an empty title or text is 400 naming the field', async () => {
    const member = await createAndBind(app, s.h, s.admin, { name: 'Member', employee_id: 'bc_member' })
    const refused = await callAction(app, s.h, 'system.broadcast', member.clientId, {
      title: 'x',
      content: 'y',
      ...(await challengeFor(app, s.h, member.clientId)),
    })
    expect([refused.reply.code, refused.reply.message]).toEqual([403, 'only org admins can broadcast to everyone'])
    expect(refused.deliveries).toEqual([])
    const unchallenged = await callAction(app, s.h, 'system.broadcast', s.admin, { title: 'x', content: 'y' })
    expect(unchallenged.reply.code).toBe(403)
    expect(unchallenged.reply.message).toMatch(/auth\.challenge/)
    expect(unchallenged.deliveries).toEqual([])
    for (const [payload, field] of [
      [{ title: ' ', content: 'y' }, 'title'],
      [{ title: 'x', content: '' }, 'content'],
      [{ title: 'x'.repeat(65), content: 'y' }, 'title'],
    ] as const) {
      const bad = await callAction(app, s.h, 'system.broadcast', s.admin, payload)
      expect(bad.reply.code).toBe(400)
      expect(bad.reply.message).toMatch(new RegExp(`^${field}: `))
    }
  })
})
