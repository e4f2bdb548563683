import { describe, expect, it } from 'vitest'
import { authBind } from '../../schema/index.ts'
import { callAction, createAndBind, nextSeq, readAnswer } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('auth.bind', () => {
  it('binds a client id of the employee scheme to the employee the password names', async () => {
    const a = await callAction(app, s.h, 'auth.bind', 'admin.phone', {
      mqtt_password: s.adminPassword,
      device_info: 'ios',
    })
    expect(a.reply).toEqual({ code: 0, message: 'ok', data: { employee_id: 'admin' } })
    expect(authBind.reply.parse(a.reply.data)).toEqual({ employee_id: 'admin' })
    const { rows } = await s.h.db.query('SELECT employee_id, device_info FROM client_session WHERE client_id = $1', [
      'admin.phone',
    ])
    expect(rows).toEqual([{ employee_id: 'admin', device_info: 'ios' }])
    // The password is never written to the audit trail.
    const audit = await s.h.db.query(
      `SELECT params::text FROM audit_log WHERE action = 'auth.bind' AND client_id = 'admin.phone'`,
    )
    expect(audit.rows).toHaveLength(1)
    expect(audit.rows[0].params).not.toContain(s.adminPassword)
  })

  it('accepts the optional employee_id when it matches, and refuses it when it does not', async () => {
    expect(
      (await callAction(app, s.h, 'auth.bind', 'admin.a1', { employee_id: 'admin', mqtt_password: s.adminPassword }))
        .reply.code,
    ).toBe(0)
    const b = await callAction(app, s.h, 'auth.bind', 'admin.a2', {
      employee_id: 'emp_other',
      mqtt_password: s.adminPassword,
    })
    expect([b.status, b.reply.message]).toEqual([401, 'mqtt_password does not belong to employee_id'])
  })

  it('refuses a forged or garbled password', async () => {
    const forged = s.adminPassword.slice(0, -4) + 'AAAA'
    const a = await callAction(app, s.h, 'auth.bind', 'admin.f', { mqtt_password: forged })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([401, 401, 'mqtt_password is not a valid credential'])
    expect((await callAction(app, s.h, 'auth.bind', 'admin.g', { mqtt_password: 'nonsense' })).reply.code).toBe(401)
  })

  it('refuses a client id outside the employee scheme (no binding another employee’s ids)', async () => {
    for (const cid of ['someone.dev', 'admin', 'adminx.dev', 'admin.', 'admin_', 'adminx_dev', 'someone_admin_dev']) {
      const a = await callAction(app, s.h, 'auth.bind', cid, { mqtt_password: s.adminPassword })
      expect(a.reply.code, cid).toBe(403)
      expect(a.reply.message).toBe(
        'client_id must follow {employee_id}.{device_id} or {employee_id}_{device_id} with employee_id admin',
      )
    }
  })

  it('names the missing field', async () => {
    const a = await callAction(app, s.h, 'auth.bind', 'admin.x', {})
    expect([a.status, a.reply.code]).toEqual([400, 400])
    expect(a.reply.message).toMatch(/^mqtt_password: /)
  })

  it('refuses a revoked credential and a disabled employee', async () => {
    const e = await createAndBind(app, s.h, s.admin, { name: 'Rev' })
    await s.h.db.query('UPDATE employee SET credential_version = credential_version + 1 WHERE employee_id = $1', [
      e.employee_id,
    ])
    const a = await callAction(app, s.h, 'auth.bind', `${e.employee_id}.new`, { mqtt_password: e.password })
    expect([a.reply.code, a.reply.message]).toEqual([401, 'mqtt_password has been revoked'])

    const d = await createAndBind(app, s.h, s.admin, { name: 'Dis' })
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = $1`, [d.employee_id])
    const b = await callAction(app, s.h, 'auth.bind', `${d.employee_id}.new`, { mqtt_password: d.password })
    expect([b.reply.code, b.reply.message]).toEqual([403, 'employee is disabled'])
    // An existing session of a disabled employee can do nothing either.
    const c = await callAction(app, s.h, 'org.tree', d.clientId)
    expect([c.reply.code, c.reply.message]).toEqual([403, 'employee is disabled'])
  })

  it('replays the same reply for the same seq_id, and 409 for the same seq_id with another body', async () => {
    const seq = nextSeq()
    const first = await callAction(app, s.h, 'auth.bind', 'admin.rep', { mqtt_password: s.adminPassword }, seq)
    const again = await callAction(app, s.h, 'auth.bind', 'admin.rep', { mqtt_password: s.adminPassword }, seq)
    expect(again.reply).toEqual(first.reply)
    const other = await callAction(
      app,
      s.h,
      'auth.bind',
      'admin.rep',
      { mqtt_password: s.adminPassword, device_info: 'x' },
      seq,
    )
    expect([other.status, other.reply.code]).toEqual([409, 409])
    // One effect (the replay is not a second one); the refused reuse is audited as an attempt.
    const audit = await s.h.db.query(
      `SELECT result_code FROM audit_log WHERE client_id = 'admin.rep' ORDER BY audit_id`,
    )
    expect(audit.rows.map((r) => r.result_code)).toEqual([0, 409])
  })
})

describe('auth.bind without mqtt_password (the seed’s form)', () => {
  const bindAs = async (clientId: string, payload: Record<string, unknown>, enforced: boolean) =>
    readAnswer(
      await app.request(await s.h.request('auth.bind', clientId, nextSeq(), payload), undefined, {
        ...s.h.env,
        ...(enforced ? { BROKER_ENFORCES_IDENTITY: 'true' } : {}),
      }),
    )

  it('is refused (400) unless the broker verifies client ids', async () => {
    const a = await bindAs('admin.bare1', { employee_id: 'admin' }, false)
    expect([a.status, a.reply.message]).toEqual([
      400,
      'mqtt_password: required (this broker does not verify client ids)',
    ])
  })

  it('binds the client id’s own employee where the broker does; another employee, none, or a disabled one is refused', async () => {
    expect((await bindAs('admin.bare2', { employee_id: 'admin' }, true)).reply).toEqual({
      code: 0,
      message: 'ok',
      data: { employee_id: 'admin' },
    })
    expect((await bindAs('admin.bare3', { employee_id: 'emp_someone' }, true)).reply.code).toBe(403)
    expect((await bindAs('admin.bare4', {}, true)).reply.code).toBe(401)
    const e = await createAndBind(app, s.h, s.admin, { name: 'Bare Leaver', employee_id: 'bare_leaver' })
    const ch = await callAction(app, s.h, 'auth.challenge', s.admin, {})
    const off = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: e.employee_id,
      updates: { status: 'disabled' },
      challenge_id: ch.reply.data.challenge_id,
      token: ch.reply.data.token,
    })
    expect(off.reply.code).toBe(0)
    expect((await bindAs('bare_leaver.phone', { employee_id: 'bare_leaver' }, true)).reply.code).toBe(403)
  })
})
