import { afterAll, describe, expect, it } from 'vitest'
import { ACTION_NAMES } from '../schema/index.ts'
import { countRoundTrips, roundTripTable } from '../test/support/round-trips.ts'
import { workerSuite } from '../test/support/worker-suite.ts'
import { app } from './app.ts'

/**
 * Round trips to the database per action (counted by test/support/round-trips.ts, which
 * `npm run bench` reports too): every query is one HTTP call of the Neon driver, and at the edge
 * each costs ~5–40 ms, so the count is part of the design.
 */
const s = workerSuite()
const counter = countRoundTrips()
afterAll(() => counter.restore())

describe('database round trips per action', () => {
  it('stays within each action’s budget: one for msg.send_private and msg.send_group, at most three for the rest', async () => {
    const table = await roundTripTable(app, s.h, s.admin, s.adminPassword, counter)
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
