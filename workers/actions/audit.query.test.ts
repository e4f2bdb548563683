import { describe, expect, it } from 'vitest'
import { auditQuery } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

type Entry = ReturnType<typeof auditQuery.reply.parse>['entries'][number]

async function query(payload: Record<string, unknown>, clientId = s.admin) {
  const a = await callAction(app, s.h, 'audit.query', clientId, payload)
  expect([a.reply.code, a.reply.message], JSON.stringify(payload)).toEqual([0, 'ok'])
  return auditQuery.reply.parse(a.reply.data)
}

/** Every page of a query, following next_cursor. */
async function allPages(payload: Record<string, unknown>, limit: number) {
  const pages: Entry[][] = []
  let cursor: string | null = null
  do {
    const page = await query({ ...payload, limit, ...(cursor ? { cursor } : {}) })
    pages.push(page.entries)
    cursor = page.next_cursor
  } while (cursor)
  return pages
}

/** Audit rows with chosen times and operator, for the filters (audit_log has no foreign keys). */
async function insertAudit(operator: string, action: string, ts: string, n = 1) {
  for (let i = 0; i < n; i++) {
    await s.h.db.query(
      'INSERT INTO audit_log (operator_employee_id, client_id, action, params, result_code, ts) VALUES ($1, $2, $3, $4::jsonb, 0, $5)',
      [operator, `${operator}.dev`, action, JSON.stringify({ i }), ts],
    )
  }
}

describe('audit.query', () => {
  it('lists entries newest first, with operator, client_id, action, params, result_code and ts', async () => {
    const before = Date.now()
    const m = await createAndBind(app, s.h, s.admin, { name: 'Audited', employee_id: 'emp_aq_1' })
    await callAction(app, s.h, 'department.create', m.clientId, { department_id: 'dept_aq', name: 'Nope' })
    const page = await query({ limit: 3 })
    expect(page.entries).toHaveLength(3)
    expect(page.next_cursor).toBe(page.entries[2]!.audit_id)
    const [refused, bound, created] = page.entries
    expect(refused).toMatchObject({
      operator_employee_id: 'emp_aq_1',
      client_id: 'emp_aq_1.dev',
      action: 'department.create',
      params: {
        department_id: 'dept_aq',
        name: 'Nope',
        parent_id: null,
        error: 'only org admins can create departments',
      },
      result_code: 403,
    })
    expect(bound).toMatchObject({
      operator_employee_id: 'emp_aq_1',
      client_id: 'emp_aq_1.dev',
      action: 'auth.bind',
      params: { employee_id: null, device_info: null },
      result_code: 0,
    })
    expect(created).toMatchObject({
      operator_employee_id: 'admin',
      client_id: s.admin,
      action: 'employee.create',
      result_code: 0,
    })
    expect(created!.params).toMatchObject({ employee_id: 'emp_aq_1', name: 'Audited' })
    for (const e of page.entries) {
      expect(Object.keys(e).sort()).toEqual([
        'action',
        'audit_id',
        'client_id',
        'operator_employee_id',
        'params',
        'result_code',
        'ts',
      ])
      expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(Date.parse(e.ts)).toBeGreaterThanOrEqual(before - 60_000)
    }
    const ids = page.entries.map((e) => BigInt(e.audit_id))
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids)
    expect(Date.parse(refused!.ts)).toBeGreaterThanOrEqual(Date.parse(created!.ts))
  })

  it('every query is itself audited with its filters, and so is a refused one', async () => {
    await query({ action_name: 'x.audited', limit: 5 })
    const m = await createAndBind(app, s.h, s.admin, { name: 'Peek', employee_id: 'emp_aq_peek' })
    expect((await callAction(app, s.h, 'audit.query', m.clientId, { operator_id: 'admin' })).reply.code).toBe(403)
    const { rows } = await s.h.db.query(
      `SELECT operator_employee_id, result_code, params FROM audit_log WHERE action = 'audit.query' ORDER BY audit_id DESC LIMIT 2`,
    )
    expect(rows.reverse()).toEqual([
      {
        operator_employee_id: 'admin',
        result_code: 0,
        params: expect.objectContaining({ action_name: 'x.audited', limit: 5, entries: 0 }),
      },
      {
        operator_employee_id: 'emp_aq_peek',
        result_code: 403,
        params: expect.objectContaining({ operator_id: 'admin', entries: null }),
      },
    ])
  })

  it('only org admins may query it', async () => {
    const m = await createAndBind(app, s.h, s.admin, { name: 'Curious', employee_id: 'emp_aq_curious' })
    const a = await callAction(app, s.h, 'audit.query', m.clientId, {})
    expect([a.status, a.reply.code, a.reply.message, a.reply.data]).toEqual([
      403,
      403,
      'only org admins can query the audit log',
      null,
    ])
    expect((await callAction(app, s.h, 'audit.query', 'ghost.dev', {})).reply.code).toBe(401)
  })

  it('filters by operator and time range', async () => {
    await insertAudit('op_a', 'x.one', '2025-02-03T10:00:00.000Z', 2)
    await insertAudit('op_a', 'x.two', '2025-02-03T11:00:00.000Z', 1)
    await insertAudit('op_b', 'x.one', '2025-02-03T12:00:00.000Z', 1)
    await insertAudit('op_a', 'x.one', '2025-02-03T13:00:00.000Z', 1)

    const byOp = await query({ operator_id: 'op_a' })
    expect(byOp.entries.map((e) => [e.action, e.ts])).toEqual([
      ['x.one', '2025-02-03T13:00:00.000Z'],
      ['x.two', '2025-02-03T11:00:00.000Z'],
      ['x.one', '2025-02-03T10:00:00.000Z'],
      ['x.one', '2025-02-03T10:00:00.000Z'],
    ])
    expect(byOp.entries.every((e) => e.operator_employee_id === 'op_a' && e.client_id === 'op_a.dev')).toBe(true)
    expect(byOp.next_cursor).toBeNull()
    expect((await query({ operator_id: 'op_nobody' })).entries).toEqual([])

    const window = await query({
      operator_id: 'op_a',
      since: '2025-02-03T10:30:00.000Z',
      until: '2025-02-03T12:30:00Z',
    })
    expect(window.entries.map((e) => [e.action, e.ts])).toEqual([['x.two', '2025-02-03T11:00:00.000Z']])
    const both = await query({ since: '2025-02-03T10:30:00.000Z', until: '2025-02-03T13:30:00Z' })
    expect(both.entries.map((e) => [e.operator_employee_id, e.ts])).toEqual([
      ['op_a', '2025-02-03T13:00:00.000Z'],
      ['op_b', '2025-02-03T12:00:00.000Z'],
      ['op_a', '2025-02-03T11:00:00.000Z'],
    ])
    // Offsets other than Z are the same instant.
    const shifted = await query({ operator_id: 'op_a', since: '2025-02-03T20:30:00+08:00' })
    expect(shifted.entries.map((e) => e.ts)).toEqual(['2025-02-03T13:00:00.000Z'])
    const until = await query({ operator_id: 'op_a', until: '2025-02-03T10:30:00.000Z' })
    expect(until.entries.map((e) => e.ts)).toEqual(['2025-02-03T10:00:00.000Z', '2025-02-03T10:00:00.000Z'])
    // since is inclusive.
    expect((await query({ operator_id: 'op_b', since: '2025-02-03T12:00:00.000Z' })).entries).toHaveLength(1)
  })

  it('filters by action_name (not `action`, the envelope’s own field)', async () => {
    await insertAudit('op_c', 'y.one', '2025-02-04T10:00:00.000Z', 2)
    await insertAudit('op_d', 'y.one', '2025-02-04T11:00:00.000Z', 1)
    await insertAudit('op_c', 'y.two', '2025-02-04T12:00:00.000Z', 1)
    expect(
      (await query({ action_name: 'y.one' })).entries.map((e) => [e.operator_employee_id, e.action, e.ts]),
    ).toEqual([
      ['op_d', 'y.one', '2025-02-04T11:00:00.000Z'],
      ['op_c', 'y.one', '2025-02-04T10:00:00.000Z'],
      ['op_c', 'y.one', '2025-02-04T10:00:00.000Z'],
    ])
    expect((await query({ action_name: 'y.one', operator_id: 'op_d' })).entries).toHaveLength(1)
    expect((await query({ action_name: 'y.two', operator_id: 'op_d' })).entries).toEqual([])
    expect(
      (await query({ action_name: 'y.one', since: '2025-02-04T10:30:00Z' })).entries.map((e) => e.operator_employee_id),
    ).toEqual(['op_d'])
    // Real actions' rows too: the member's refused department.create in the first test.
    expect((await query({ action_name: 'department.create' })).entries.map((e) => e.result_code)).toEqual([403])
    // `action` in the payload is the envelope's: another value is refused, it never filters.
    const a = await callAction(app, s.h, 'audit.query', s.admin, { action: 'y.one' })
    expect([a.reply.code, a.reply.message]).toEqual([400, 'action: does not match the route'])
    expect((await callAction(app, s.h, 'audit.query', s.admin, { action_name: '' })).reply.message).toMatch(
      /^action_name: /,
    )
  })

  it('pages with limit and next_cursor cover every entry exactly once, newest first', async () => {
    await insertAudit('op_page', 'x.page', '2025-03-01T00:00:00.000Z', 7)
    const pages = await allPages({ operator_id: 'op_page' }, 3)
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
    const ids = pages.flat().map((e) => e.audit_id)
    expect(new Set(ids).size).toBe(7)
    expect(pages.flat().map((e) => e.params)).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => ({ i })))
    // An exact multiple of the limit ends with an empty-cursor page, not a missing entry.
    const exact = await allPages({ operator_id: 'op_page' }, 7)
    expect(exact.flat().map((e) => e.audit_id)).toEqual(ids)
    const seven = await query({ operator_id: 'op_page', limit: 7 })
    expect(seven.next_cursor).toBeNull()

    // The whole log, paged, is the whole log; entries arriving meanwhile do not shift later pages.
    const whole = await query({ limit: 500 })
    const paged: Entry[] = []
    let cursor: string | null = null
    do {
      const page = await query({ limit: 4, ...(cursor ? { cursor } : {}) })
      paged.push(...page.entries)
      cursor = page.next_cursor
      await insertAudit('op_late', 'x.late', new Date().toISOString())
    } while (cursor)
    // Each query is audited too: the one that read `whole` is newer than what it read.
    const notQueries = (list: Entry[]) => list.filter((e) => e.action !== 'audit.query').map((e) => e.audit_id)
    expect(notQueries(paged)).toEqual(notQueries(whole.entries))
  })

  it('400 for since after until, a bad cursor or limit', async () => {
    const a = await callAction(app, s.h, 'audit.query', s.admin, {
      since: '2025-02-03T12:00:00Z',
      until: '2025-02-03T11:00:00Z',
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([400, 400, 'since: since must not be after until'])
    for (const cursor of ['abc', '-1', '1.5', '', '12345678901234567890', '99999999999999999999']) {
      const b = await callAction(app, s.h, 'audit.query', s.admin, { cursor })
      expect([b.status, b.reply.code], cursor).toEqual([400, 400])
      expect(b.reply.message, cursor).toMatch(/^cursor: /)
    }
    // 19 digits but beyond bigint: still the input's fault.
    const huge = await callAction(app, s.h, 'audit.query', s.admin, { cursor: '9999999999999999999' })
    expect([huge.status, huge.reply.code]).toEqual([400, 400])
    for (const limit of [0, 501, 2.5, '10']) {
      expect((await callAction(app, s.h, 'audit.query', s.admin, { limit })).reply.message, String(limit)).toMatch(
        /^limit: /,
      )
    }
    for (const since of ['yesterday', '2025-02-03', '2025-02-03T10:00:00']) {
      expect((await callAction(app, s.h, 'audit.query', s.admin, { since })).reply.message, since).toMatch(/^since: /)
    }
  })

  it('params never hold a password or a challenge token', async () => {
    const created = await callAction(app, s.h, 'employee.create', s.admin, {
      name: 'Secretive',
      employee_id: 'emp_aq_secret',
    })
    const password = created.reply.data.mqtt_connection.mqtt_password as string
    expect((await callAction(app, s.h, 'auth.bind', 'emp_aq_secret.dev', { mqtt_password: password })).reply.code).toBe(
      0,
    )
    // A refused bind with a forged password is audited too, without it.
    const forged = `${password.slice(0, -4)}AAAA`
    expect((await callAction(app, s.h, 'auth.bind', 'emp_aq_secret.bad', { mqtt_password: forged })).reply.code).toBe(
      401,
    )
    const pair = await challengeFor(app, s.h, 'emp_aq_secret.dev', 'department.delete')
    const adminPair = await challengeFor(app, s.h, s.admin)
    await s.h.db.query(
      `INSERT INTO department (department_id, name) VALUES ('dept_aq_secret', 'S'), ('dept_aq_secret2', 'S2')`,
    )
    expect(
      (await callAction(app, s.h, 'department.delete', s.admin, { department_id: 'dept_aq_secret', ...adminPair }))
        .reply.code,
    ).toBe(0)
    const wrong = await callAction(app, s.h, 'department.delete', s.admin, {
      department_id: 'dept_aq_secret2',
      challenge_id: adminPair.challenge_id,
      token: `${adminPair.token}x`,
    })
    expect(wrong.reply.code).toBe(403)

    const entries = (await allPages({}, 200)).flat()
    const mine = entries.filter(
      (e) =>
        JSON.stringify(e).includes('emp_aq_secret') ||
        JSON.stringify(e).includes(pair.challenge_id) ||
        e.action === 'department.delete',
    )
    expect(mine.map((e) => e.action).sort()).toEqual([
      'auth.bind',
      'auth.bind',
      'auth.challenge',
      'department.delete',
      'department.delete',
      'employee.create',
    ])
    const text = JSON.stringify(entries)
    for (const secret of [password, forged, pair.token, adminPair.token, s.adminPassword])
      expect(text).not.toContain(secret)
    for (const e of entries) {
      const keys = Object.keys((e.params ?? {}) as object)
      expect(keys, e.action).not.toContain('mqtt_password')
      expect(keys, e.action).not.toContain('token')
    }
    expect(mine.find((e) => e.action === 'auth.challenge')!.params).toEqual({
      challenge_id: pair.challenge_id,
      for_action: 'department.delete',
    })
  })
})
