import { neonConfig } from '@neondatabase/serverless'
import type { Hono } from 'hono'
import type { AppEnv } from '../../workers/env.ts'
import { callAction, challengeFor, createAndBind, nextSeq, type WorkerHarness } from './workers.ts'

/**
 * Round trips to the database per action, shared by workers/round-trips.test.ts (which holds the
 * budgets) and the benchmarks (which report them). Every query is one HTTP call of the Neon
 * driver, and at the edge each costs ~5–40 ms, so the count is part of the design. `waves` counts
 * the calls that must wait for one another (calls started together share a wave).
 */
export interface RoundTrips {
  queries: number
  waves: number
}

interface Span {
  start: number
  end: number
}

export interface RoundTripCounter {
  /** Runs `run` (one action) and counts the Neon driver's calls it made; the reply must be code 0. */
  measure(run: () => Promise<{ reply: { code: number } }>): Promise<RoundTrips>
  /** Puts the driver's own fetch back. */
  restore(): void
}

/** Wraps the Neon driver's fetch (a process-wide setting) to time each of its calls. */
export function countRoundTrips(): RoundTripCounter {
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
  return {
    async measure(run) {
      spans = []
      const a = await run()
      const taken = spans
      spans = null
      if (a.reply.code !== 0) throw new Error(`expected code 0, got ${JSON.stringify(a.reply)}`)
      let waves = 0
      let frontier = -Infinity
      for (const sp of [...taken].sort((x, y) => x.start - y.start)) {
        if (sp.start >= frontier) waves++
        frontier = Math.max(frontier === -Infinity ? 0 : frontier, sp.end)
      }
      return { queries: taken.length, waves }
    },
    restore() {
      neonConfig.fetchFunction = original
    },
  }
}

/** Every action once (and a replayed msg.send_group), as `admin` (a client id bound as the org admin). */
export async function roundTripTable(
  app: Hono<AppEnv>,
  h: WorkerHarness,
  admin: string,
  adminPassword: string,
  counter: RoundTripCounter,
): Promise<Record<string, RoundTrips>> {
  const table: Record<string, RoundTrips> = {}
  const call = (action: string, payload: Record<string, unknown> = {}, seq?: string) =>
    callAction(app, h, action, admin, payload, seq)
  const peer = await createAndBind(app, h, admin, { name: 'Peer' })
  const group = (await call('group.create', { name: 'RT', member_ids: [peer.employee_id] })).reply.data.group_id
  const dismissable = (await call('group.create', { name: 'RT2', member_ids: [peer.employee_id] })).reply.data.group_id
  const spare = (await createAndBind(app, h, admin, { name: 'Spare' })).employee_id
  // Payloads are built before measuring: a challenge is fetched first, not counted with its action.
  const cases: Array<[string, () => Promise<Record<string, unknown>> | Record<string, unknown>]> = [
    ['auth.challenge', () => ({})],
    ['employee.create', () => ({ name: 'RT' })],
    ['employee.update', () => ({ employee_id: peer.employee_id, updates: { name: 'Peer 2' } })],
    ['org.tree', () => ({})],
    ['department.create', () => ({ department_id: 'dept_rt', name: 'RT' })],
    ['department.update', () => ({ department_id: 'dept_rt', updates: { name: 'RT 2' } })],
    ['department.delete', async () => ({ department_id: 'dept_rt', ...(await challengeFor(app, h, admin)) })],
    ['group.create', () => ({ name: 'RT3', member_ids: [peer.employee_id] })],
    ['group.member_add', () => ({ group_id: group, member_ids: [spare] })],
    ['group.member_remove', () => ({ group_id: group, member_ids: [spare] })],
    ['group.list', () => ({})],
    ['group.members', () => ({ group_id: group })],
    ['group.dismiss', async () => ({ group_id: dismissable, ...(await challengeFor(app, h, admin)) })],
    ['msg.send_private', () => ({ to_employee_id: peer.employee_id, content: 'x' })],
    ['msg.send_group', () => ({ group_id: group, content: 'x' })],
    ['msg.read_ack', () => ({ msg_id: 'msg_1', conversation_type: 'group', group_id: group })],
    ['agent.capability_list', () => ({ skill: 'x' })],
    ['audit.query', () => ({ limit: 10 })],
    ['system.broadcast', async () => ({ title: 'RT', content: 'rt', ...(await challengeFor(app, h, admin)) })],
    ['config.storage', () => ({})],
    // The group cases: the only ones that read the database beyond the session.
    [
      'file.upload_url',
      () => ({ file_name: 'rt.txt', content_type: 'text/plain', size: 1, conversation_type: 'group', group_id: group }),
    ],
    ['file.download_url', () => ({ key: `g/${group}/${peer.employee_id}/f_rt/rt.txt` })],
  ]
  // Signing never reaches the store, so any endpoint does when the harness has none.
  if (!h.env.S3_ENDPOINT)
    Object.assign(h.env, {
      S3_ENDPOINT: 'http://127.0.0.1:9',
      S3_BUCKET: 'mchat-rt',
      S3_ACCESS_KEY_ID: 'rt',
      S3_SECRET_ACCESS_KEY: 'rt',
    })
  const device = `${admin.slice(0, admin.indexOf('.'))}.rt`
  table['auth.bind'] = await counter.measure(() =>
    callAction(app, h, 'auth.bind', device, { mqtt_password: adminPassword }),
  )
  for (const [action, payload] of cases) {
    const p = await payload()
    table[action] = await counter.measure(() => call(action, p))
  }
  const seq = nextSeq()
  await call('msg.send_group', { group_id: group, content: 'y' }, seq)
  table['msg.send_group (replay)'] = await counter.measure(() =>
    call('msg.send_group', { group_id: group, content: 'y' }, seq),
  )
  return table
}
