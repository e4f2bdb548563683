import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { authChallenge, departmentDelete, employeeUpdate } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url')

/** Another client id of the org admin, so the audit rows of one test are told apart by client_id. */
async function adminDevice(device: string): Promise<string> {
  const clientId = `admin.${device.replace(/[^A-Za-z0-9_-]/g, '_')}`
  const bound = await callAction(app, s.h, 'auth.bind', clientId, { mqtt_password: s.adminPassword })
  expect(bound.reply.code).toBe(0)
  return clientId
}

async function challengeRow(challengeId: string) {
  const { rows } = await s.h.db.query(
    'SELECT employee_id, token_hash, expires_at, used_at, for_action FROM auth_challenge WHERE challenge_id = $1',
    [challengeId],
  )
  return rows[0]
}

async function auditRows(clientId: string, action: string) {
  const { rows } = await s.h.db.query(
    'SELECT operator_employee_id, client_id, action, params, params::text AS text, result_code FROM audit_log WHERE client_id = $1 AND action = $2 ORDER BY audit_id',
    [clientId, action],
  )
  return rows
}

describe('auth.challenge', () => {
  it('replies with challenge_id, token and expires_at 120 s ahead, storing only a hash of the token', async () => {
    const before = Date.now()
    const a = await callAction(app, s.h, 'auth.challenge', s.admin, {}, 'cc0e8400-e29b-41d4-a716-446655440007')
    const after = Date.now()
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = authChallenge.reply.parse(a.reply.data)
    expect(Object.keys(a.reply.data).sort()).toEqual(['challenge_id', 'expires_at', 'token'])
    expect(data.challenge_id).toMatch(/^ch_[0-9a-f]{24}$/)
    expect(data.token.length).toBeGreaterThanOrEqual(32)
    const expires = Date.parse(data.expires_at)
    expect(expires).toBeGreaterThanOrEqual(before + 120_000)
    expect(expires).toBeLessThanOrEqual(after + 120_000)

    const row = await challengeRow(data.challenge_id)
    expect(row).toMatchObject({ employee_id: 'admin', token_hash: sha256(data.token), used_at: null, for_action: null })
    expect(new Date(row.expires_at).getTime()).toBe(expires)
    // The token itself rests nowhere: not in the challenge, not in the stored reply, not in the audit trail.
    for (const table of ['auth_challenge', 'request_reply', 'audit_log']) {
      const hit = await s.h.db.query(`SELECT count(*)::int AS n FROM ${table} t WHERE t::text LIKE $1`, [
        `%${data.token}%`,
      ])
      expect(hit.rows[0].n, table).toBe(0)
    }
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, result_code FROM audit_log WHERE action = 'auth.challenge' AND params->>'challenge_id' = $1`,
      [data.challenge_id],
    )
    expect(audit.rows).toEqual([
      { operator_employee_id: 'admin', params: { challenge_id: data.challenge_id, for_action: null }, result_code: 0 },
    ])
  })

  it('lives CHALLENGE_TTL_SECONDS when that binding is set (within 1..900), 120 s otherwise', async () => {
    for (const [ttl, expected] of [
      ['300', 300],
      ['900', 900],
      ['0', 120],
      ['901', 120],
      ['soon', 120],
    ] as const) {
      const h = { ...s.h, env: { ...s.h.env, CHALLENGE_TTL_SECONDS: ttl } }
      const before = Date.now()
      const a = await callAction(app, h, 'auth.challenge', s.admin, {})
      const after = Date.now()
      expect(a.reply.code, ttl).toBe(0)
      const expires = Date.parse(authChallenge.reply.parse(a.reply.data).expires_at)
      expect(expires, ttl).toBeGreaterThanOrEqual(before + expected * 1000)
      expect(expires, ttl).toBeLessThanOrEqual(after + expected * 1000)
    }
  })

  it('a replay of the same request returns the identical token, and issues one challenge', async () => {
    const cid = await adminDevice('replay')
    const seq = nextSeq()
    const first = await callAction(app, s.h, 'auth.challenge', cid, {}, seq)
    const again = await callAction(app, s.h, 'auth.challenge', cid, {}, seq)
    expect(first.reply.code).toBe(0)
    expect(again.reply).toEqual(first.reply)
    expect(again.reply.data.token).toBe(first.reply.data.token)
    const { rows } = await s.h.db.query('SELECT count(*)::int AS n FROM auth_challenge WHERE challenge_id = $1', [
      first.reply.data.challenge_id,
    ])
    expect(rows[0].n).toBe(1)
    expect((await auditRows(cid, 'auth.challenge')).map((r) => r.result_code)).toEqual([0])
    // The replayed token still works.
    const target = `dept_replayed`
    await s.h.db.query('INSERT INTO department (department_id, name) VALUES ($1, $1)', [target])
    const del = await callAction(app, s.h, 'department.delete', cid, {
      department_id: target,
      challenge_id: again.reply.data.challenge_id,
      token: again.reply.data.token,
    })
    expect(del.reply.code).toBe(0)
  })

  it('stores for_action, and refuses a for_action that is not an action with 400', async () => {
    const cid = await adminDevice('scope')
    const a = await callAction(app, s.h, 'auth.challenge', cid, { for_action: 'department.delete' })
    expect(a.reply.code).toBe(0)
    expect((await challengeRow(a.reply.data.challenge_id)).for_action).toBe('department.delete')
    const bad = await callAction(app, s.h, 'auth.challenge', cid, { for_action: 'department.destroy' })
    expect([bad.status, bad.reply.code, bad.reply.message]).toEqual([400, 400, 'for_action: not an action'])
    expect((await callAction(app, s.h, 'auth.challenge', cid, { for_action: '' })).reply.message).toMatch(
      /^for_action: /,
    )
    const audit = await auditRows(cid, 'auth.challenge')
    expect(audit.map((r) => [r.result_code, r.params.for_action])).toEqual([
      [0, 'department.delete'],
      [400, 'department.destroy'],
      [400, undefined], // refused by the contract: nothing of the input is kept
    ])
  })

  it('any bound employee may ask for one; an unbound client may not', async () => {
    const m = await createAndBind(app, s.h, s.admin, { name: 'Challenger', employee_id: 'emp_ch_member' })
    const a = await callAction(app, s.h, 'auth.challenge', m.clientId, {})
    expect(a.reply.code).toBe(0)
    expect((await challengeRow(a.reply.data.challenge_id)).employee_id).toBe('emp_ch_member')
    const b = await callAction(app, s.h, 'auth.challenge', 'ghost.dev', {})
    expect([b.status, b.reply.code]).toEqual([401, 401])
  })
})

/** A fresh target for each sensitive action: the payload (without the challenge) and whether it took effect. */
type Target = { payload: Record<string, unknown>; applied: () => Promise<boolean> }
let serial = 0
const sensitive: Record<'department.delete' | 'employee.update', () => Promise<Target>> = {
  'department.delete': async () => {
    const id = `dept_sens_${serial++}`
    await s.h.db.query('INSERT INTO department (department_id, name) VALUES ($1, $1)', [id])
    return {
      payload: { department_id: id },
      applied: async () =>
        (await s.h.db.query('SELECT 1 FROM department WHERE department_id = $1', [id])).rows.length === 0,
    }
  },
  'employee.update': async () => {
    const id = `emp_sens_${serial++}`
    const created = await callAction(app, s.h, 'employee.create', s.admin, { name: id, employee_id: id })
    expect(created.reply.code).toBe(0)
    return {
      payload: { employee_id: id, updates: { role: 'admin' } },
      applied: async () =>
        (await s.h.db.query('SELECT role FROM employee WHERE employee_id = $1', [id])).rows[0].role === 'admin',
    }
  },
}

for (const [action, target] of Object.entries(sensitive)) {
  const parseReply = (data: unknown) =>
    action === 'department.delete' ? departmentDelete.reply.parse(data) : employeeUpdate.reply.parse(data)

  describe(`${action} is sensitive`, () => {
    /** The refusal is answered, nothing changed, and one audit row records it without the token. */
    async function expectRefused(cid: string, t: Target, pair: Record<string, string>, message: string | RegExp) {
      const a = await callAction(app, s.h, action, cid, { ...t.payload, ...pair })
      expect([a.status, a.reply.code]).toEqual([403, 403])
      expect(a.reply.message).toMatch(message)
      expect(a.deliveries).toEqual([])
      expect(await t.applied()).toBe(false)
      const audit = await auditRows(cid, action)
      expect(audit).toHaveLength(1)
      expect(audit[0]).toMatchObject({ operator_employee_id: 'admin', client_id: cid, action, result_code: 403 })
      expect(audit[0].params.error).toBe(a.reply.message)
      if (pair.token) expect(audit[0].text).not.toContain(pair.token)
      expect(audit[0].params).not.toHaveProperty('token')
      expect(audit[0].params).not.toHaveProperty('challenge_id')
      return a
    }

    it('without a challenge: 403 naming auth.challenge, audited', async () => {
      const cid = await adminDevice(`${action}-none`)
      const a = await expectRefused(cid, await target(), {}, /auth\.challenge/)
      expect(a.reply.message).toBe(
        `challenge: ${action} is sensitive, send auth.challenge first and pass its challenge_id and token`,
      )
      // A challenge_id without its token is no better.
      const { challenge_id } = await challengeFor(app, s.h, cid)
      const b = await callAction(app, s.h, action, cid, { ...(await target()).payload, challenge_id })
      expect(b.reply.message).toMatch(/auth\.challenge/)
    })

    it('with a fresh challenge: done, the challenge spent, audited without the token', async () => {
      const cid = await adminDevice(`${action}-ok`)
      const t = await target()
      const pair = await challengeFor(app, s.h, cid)
      const a = await callAction(app, s.h, action, cid, { ...t.payload, ...pair })
      expect(a.reply.code).toBe(0)
      parseReply(a.reply.data)
      expect(await t.applied()).toBe(true)
      expect((await challengeRow(pair.challenge_id)).used_at).not.toBeNull()
      const audit = await auditRows(cid, action)
      expect(audit.map((r) => r.result_code)).toEqual([0])
      expect(audit[0].operator_employee_id).toBe('admin')
      expect(audit[0].text).not.toContain(pair.token)
    })

    it('an expired challenge: 403, audited', async () => {
      const cid = await adminDevice(`${action}-expired`)
      const pair = await challengeFor(app, s.h, cid)
      await s.h.db.query(`UPDATE auth_challenge SET expires_at = now() - interval '1 second' WHERE challenge_id = $1`, [
        pair.challenge_id,
      ])
      await expectRefused(cid, await target(), pair, /^challenge: expired/)
      expect((await challengeRow(pair.challenge_id)).used_at).toBeNull()
    })

    it('a used challenge: 403 on the second request, audited', async () => {
      const cid = await adminDevice(`${action}-reuse`)
      const pair = await challengeFor(app, s.h, cid)
      const first = await callAction(app, s.h, action, s.admin, { ...(await target()).payload, ...pair })
      expect(first.reply.code).toBe(0)
      await expectRefused(cid, await target(), pair, 'challenge: already used')
    })

    it('another employee’s challenge: 403, audited', async () => {
      const other = await createAndBind(app, s.h, s.admin, {
        name: 'Other admin',
        employee_id: `adm_other_${serial++}`,
        role: 'admin',
      })
      const cid = await adminDevice(`${action}-foreign`)
      const pair = await challengeFor(app, s.h, other.clientId)
      await expectRefused(cid, await target(), pair, 'challenge: issued to another employee')
      expect((await challengeRow(pair.challenge_id)).used_at).toBeNull()
    })

    it('a wrong token or unknown challenge_id: 403, audited, and the challenge is still good', async () => {
      const cid = await adminDevice(`${action}-wrong`)
      const pair = await challengeFor(app, s.h, cid)
      const t = await target()
      const wrong = { challenge_id: pair.challenge_id, token: `${pair.token.slice(0, -2)}xx` }
      await expectRefused(cid, t, wrong, 'challenge: unknown challenge_id or wrong token')
      const unknown = await callAction(app, s.h, action, s.admin, {
        ...t.payload,
        challenge_id: 'ch_nope',
        token: pair.token,
      })
      expect([unknown.reply.code, unknown.reply.message]).toEqual([
        403,
        'challenge: unknown challenge_id or wrong token',
      ])
      expect((await challengeRow(pair.challenge_id)).used_at).toBeNull()
      const right = await callAction(app, s.h, action, s.admin, { ...t.payload, ...pair })
      expect(right.reply.code).toBe(0)
      expect(await t.applied()).toBe(true)
    })

    it('a challenge issued for another action: 403, audited; one issued for this action works', async () => {
      const cid = await adminDevice(`${action}-scope`)
      const otherAction = action === 'department.delete' ? 'employee.update' : 'department.delete'
      const pair = await challengeFor(app, s.h, cid, otherAction)
      await expectRefused(cid, await target(), pair, 'challenge: issued for another action')
      const mine = await challengeFor(app, s.h, cid, action)
      const t = await target()
      expect((await callAction(app, s.h, action, cid, { ...t.payload, ...mine })).reply.code).toBe(0)
      expect(await t.applied()).toBe(true)
    })

    it('two concurrent uses of one challenge: exactly one succeeds', async () => {
      const pair = await challengeFor(app, s.h, s.admin)
      const [t1, t2] = [await target(), await target()]
      const answers = await Promise.all(
        [t1, t2].map((t) => callAction(app, s.h, action, s.admin, { ...t.payload, ...pair }, nextSeq())),
      )
      expect(answers.map((a) => a.reply.code).sort()).toEqual([0, 403])
      expect(answers.find((a) => a.reply.code === 403)!.reply.message).toBe('challenge: already used')
      expect([await t1.applied(), await t2.applied()].filter(Boolean)).toHaveLength(1)
    })
  })
}

describe('a sensitive request refused before its challenge is checked leaves the challenge unspent', () => {
  it('a member’s department.delete: 403 for the permission, the challenge still unused', async () => {
    const m = await createAndBind(app, s.h, s.admin, { name: 'Member', employee_id: 'emp_ch_perm' })
    await s.h.db.query(`INSERT INTO department (department_id, name) VALUES ('dept_perm', 'P')`)
    const pair = await challengeFor(app, s.h, m.clientId)
    const a = await callAction(app, s.h, 'department.delete', m.clientId, { department_id: 'dept_perm', ...pair })
    expect([a.reply.code, a.reply.message]).toEqual([403, 'only org admins can delete departments'])
    expect((await challengeRow(pair.challenge_id)).used_at).toBeNull()
    const audit = await auditRows(m.clientId, 'department.delete')
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ operator_employee_id: 'emp_ch_perm', result_code: 403 })
    expect(audit[0].text).not.toContain(pair.token)
    // Nor does a member changing their own status spend it.
    const b = await callAction(app, s.h, 'employee.update', m.clientId, {
      employee_id: 'emp_ch_perm',
      updates: { status: 'disabled' },
      ...pair,
    })
    expect([b.reply.code, b.reply.message]).toEqual([403, 'only org admins can change status'])
    expect((await challengeRow(pair.challenge_id)).used_at).toBeNull()
  })

  it('an admin’s refusals (own role, 409, 404, a failed write) keep the challenge, which the corrected request then spends', async () => {
    const pair = await challengeFor(app, s.h, s.admin)
    const own = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'admin',
      updates: { role: 'member' },
      ...pair,
    })
    expect([own.reply.code, own.reply.message]).toEqual([403, 'admins cannot change their own role or status'])
    await s.h.db.query(
      `INSERT INTO department (department_id, name) VALUES ('dept_busy', 'Busy'), ('dept_busy_kid', 'Kid')`,
    )
    await s.h.db.query(`UPDATE department SET parent_id = 'dept_busy' WHERE department_id = 'dept_busy_kid'`)
    const busy = await callAction(app, s.h, 'department.delete', s.admin, { department_id: 'dept_busy', ...pair })
    expect(busy.reply.code).toBe(409)
    expect(
      (await callAction(app, s.h, 'department.delete', s.admin, { department_id: 'dept_ghost', ...pair })).reply.code,
    ).toBe(404)
    // The challenge passes but the update's own write fails (unknown department): all rolled back.
    await callAction(app, s.h, 'employee.create', s.admin, { name: 'Rolled', employee_id: 'emp_ch_rollback' })
    const failed = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_ch_rollback',
      updates: { status: 'disabled', department_id: 'dept_none' },
      ...pair,
    })
    expect([failed.reply.code, failed.reply.message]).toEqual([404, 'department_id: no such department'])
    expect(
      (await s.h.db.query(`SELECT status FROM employee WHERE employee_id = 'emp_ch_rollback'`)).rows[0].status,
    ).toBe('active')
    expect((await challengeRow(pair.challenge_id)).used_at).toBeNull()

    const done = await callAction(app, s.h, 'department.delete', s.admin, {
      department_id: 'dept_busy',
      reassign_to: null,
      ...pair,
    })
    expect(done.reply.code).toBe(0)
    expect((await challengeRow(pair.challenge_id)).used_at).not.toBeNull()
  })
})
