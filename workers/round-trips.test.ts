import { neonConfig } from '@neondatabase/serverless'
import { afterAll, describe, expect, it } from 'vitest'
import { ACTION_NAMES } from '../schema/index.ts'
import { callAction, challengeFor, createAndBind, nextSeq } from '../test/support/workers.ts'
import { workerSuite } from '../test/support/worker-suite.ts'
import { app } from './app.ts'

/**
 * Round trips to the database per action: every query is one HTTP call of the Neon driver, and at
 * the edge each costs ~5–40 ms, so the count is part of the design. `waves` counts the calls that
 * must wait for one another (calls started together share a wave).
 */
const s = workerSuite()

interface Span {
  start: number
  end: number
}
let spans: Span[] | null = null
const original = neonConfig.fetchFunction
neonConfig.fetchFunction = async (input: RequestInfo | URL, init?: RequestInit) => {
  const span = { start: performance.now(), end: Infinity }
  spans?.push(span)
  try {
    return await fetch(input, init)
  } finally {
    span.end = performance.now()
  }
}
afterAll(() => {
  neonConfig.fetchFunction = original
})

async function measure(run: () => Promise<{ reply: { code: number } }>) {
  spans = []
  const a = await run()
  const taken = spans
  spans = null
  expect(a.reply.code).toBe(0)
  let waves = 0
  let frontier = -Infinity
  for (const sp of [...taken].sort((x, y) => x.start - y.start)) {
    if (sp.start >= frontier) waves++
    frontier = Math.max(frontier === -Infinity ? 0 : frontier, sp.end)
  }
  return { queries: taken.length, waves }
}

const table: Record<string, { queries: number; waves: number }> = {}

describe('database round trips per action', () => {
  it('stays within each action’s budget: one for msg.send_private and msg.send_group, at most three for the rest', async () => {
    const a = s.admin
    const call = (action: string, payload: Record<string, unknown> = {}, seq?: string) => callAction(app, s.h, action, a, payload, seq)
    const peer = await createAndBind(app, s.h, a, { name: 'Peer' })
    const group = (await call('group.create', { name: 'RT', member_ids: [peer.employee_id] })).reply.data.group_id
    const dismissable = (await call('group.create', { name: 'RT2', member_ids: [peer.employee_id] })).reply.data.group_id
    const spare = (await createAndBind(app, s.h, a, { name: 'Spare' })).employee_id
    // Payloads are built before measuring: a challenge is fetched first, not counted with its action.
    const cases: Array<[string, () => Promise<Record<string, unknown>> | Record<string, unknown>]> = [
      ['auth.challenge', () => ({})],
      ['employee.create', () => ({ name: 'RT' })],
      ['employee.update', () => ({ employee_id: peer.employee_id, updates: { name: 'Peer 2' } })],
      ['org.tree', () => ({})],
      ['department.create', () => ({ department_id: 'dept_rt', name: 'RT' })],
      ['department.update', () => ({ department_id: 'dept_rt', updates: { name: 'RT 2' } })],
      ['department.delete', async () => ({ department_id: 'dept_rt', ...(await challengeFor(app, s.h, a)) })],
      ['group.create', () => ({ name: 'RT3', member_ids: [peer.employee_id] })],
      ['group.member_add', () => ({ group_id: group, member_ids: [spare] })],
      ['group.member_remove', () => ({ group_id: group, member_ids: [spare] })],
      ['group.list', () => ({})],
      ['group.dismiss', async () => ({ group_id: dismissable, ...(await challengeFor(app, s.h, a)) })],
      ['msg.send_private', () => ({ to_employee_id: peer.employee_id, content: 'x' })],
      ['msg.send_group', () => ({ group_id: group, content: 'x' })],
      ['msg.read_ack', () => ({ msg_id: 'msg_1', conversation_type: 'group', group_id: group })],
      ['agent.capability_list', () => ({ skill: 'x' })],
      ['audit.query', () => ({ limit: 10 })],
    ]
    table['auth.bind'] = await measure(() => callAction(app, s.h, 'auth.bind', 'admin.rt', { mqtt_password: s.adminPassword }))
    for (const [action, payload] of cases) {
      const p = await payload()
      table[action] = await measure(() => call(action, p))
    }
    const seq = nextSeq()
    await call('msg.send_group', { group_id: group, content: 'y' }, seq)
    table['msg.send_group (replay)'] = await measure(() => call('msg.send_group', { group_id: group, content: 'y' }, seq))
    console.table(table)

    expect(Object.keys(table)).toEqual(expect.arrayContaining(ACTION_NAMES))
    expect(table['msg.send_private']).toEqual({ queries: 1, waves: 1 })
    expect(table['msg.send_group']).toEqual({ queries: 1, waves: 1 })
    expect(table['msg.send_group (replay)']).toEqual({ queries: 1, waves: 1 })
    for (const [action, t] of Object.entries(table)) expect(t.waves, action).toBeLessThanOrEqual(3)
    // Session lookup ∥ the action's reads, then one transaction for effect, audit and stored reply.
    expect(table['org.tree']).toEqual({ queries: 2, waves: 1 })
    expect(table['employee.create']).toEqual({ queries: 2, waves: 2 })
    expect(table['group.create']).toEqual({ queries: 3, waves: 2 })
  })
})
