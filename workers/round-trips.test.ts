import { neonConfig } from '@neondatabase/serverless'
import { afterAll, describe, expect, it } from 'vitest'
import { callAction, createAndBind, nextSeq } from '../test/support/workers.ts'
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
  it('stays within each action’s budget', async () => {
    const peer = await createAndBind(app, s.h, s.admin, { name: 'Peer' })
    table['auth.bind'] = await measure(() => callAction(app, s.h, 'auth.bind', 'admin.rt', { mqtt_password: s.adminPassword }))
    table['employee.create'] = await measure(() => callAction(app, s.h, 'employee.create', s.admin, { name: 'RT' }))
    table['org.tree'] = await measure(() => callAction(app, s.h, 'org.tree', s.admin))
    table['msg.send_private'] = await measure(() => callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: peer.employee_id, content: 'x' }))
    const seq = nextSeq()
    await callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: peer.employee_id, content: 'y' }, seq)
    table['msg.send_private (replay)'] = await measure(() => callAction(app, s.h, 'msg.send_private', s.admin, { to_employee_id: peer.employee_id, content: 'y' }, seq))
    console.table(table)

    // Session lookup ∥ action reads, then one transaction for the effect and the stored reply.
    expect(table['auth.bind']).toEqual({ queries: 3, waves: 2 })
    expect(table['employee.create']).toEqual({ queries: 2, waves: 2 })
    expect(table['org.tree']).toEqual({ queries: 2, waves: 1 })
    expect(table['msg.send_private']).toEqual({ queries: 3, waves: 2 })
    expect(table['msg.send_private (replay)']!.waves).toBe(1)
  })
})
