import { beforeAll, describe, expect, it } from 'vitest'
import { callAction, challengeFor, createAndBind } from '../test/support/workers.ts'
import { workerSuite } from '../test/support/worker-suite.ts'
import { app } from './app.ts'

/**
 * The permission matrix of docs/actions.md#who-may-do-what, row by row: who × action → code. Every refusal
 * says why; the expected message fragment is part of the row.
 */
const s = workerSuite()

type Who = 'admin' | 'member' | 'owner' | 'groupAdmin' | 'groupMember' | 'outsider' | 'disabled' | 'unbound'
const ids: Record<string, string> = {}
const client: Record<Who, string> = {} as Record<Who, string>
let n = 0

beforeAll(async () => {
  client.admin = s.admin
  for (const who of ['member', 'owner', 'groupAdmin', 'groupMember', 'outsider', 'disabled'] as const) {
    const e = await createAndBind(app, s.h, s.admin, { name: who, employee_id: `perm_${who}` })
    ids[who] = e.employee_id
    client[who] = e.clientId
  }
  client.unbound = 'perm_nobody.dev'
  await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'perm_disabled'`)
  const d = await createAndBind(app, s.h, s.admin, { name: 'inactive', employee_id: 'perm_inactive' })
  ids.inactive = d.employee_id
  await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'perm_inactive'`)
})

/** A fresh group: owner, a group admin and a plain member. */
async function freshGroup(): Promise<string> {
  const g = await callAction(app, s.h, 'group.create', client.owner, {
    name: `g${n++}`,
    member_ids: [ids.groupAdmin, ids.groupMember],
  })
  if (g.reply.code !== 0) throw new Error(JSON.stringify(g.reply))
  await s.h.db.query(`UPDATE group_member SET role = 'admin' WHERE group_id = $1 AND employee_id = $2`, [
    g.reply.data.group_id,
    ids.groupAdmin,
  ])
  return g.reply.data.group_id
}

async function freshDepartment(): Promise<string> {
  const id = `perm_dept_${n++}`
  const r = await callAction(app, s.h, 'department.create', s.admin, { department_id: id, name: id })
  if (r.reply.code !== 0) throw new Error(JSON.stringify(r.reply))
  return id
}

type Row = [
  who: Who,
  action: string,
  payload: (who: Who) => Promise<Record<string, unknown>> | Record<string, unknown>,
  code: number,
  why?: RegExp,
]
const withChallenge = async (who: Who, p: Record<string, unknown>) =>
  who === 'unbound' || who === 'disabled' ? p : { ...p, ...(await challengeFor(app, s.h, client[who])) }

const rows: Row[] = [
  // Org admins manage employees and departments.
  ['admin', 'employee.create', () => ({ name: 'new' }), 0],
  ['member', 'employee.create', () => ({ name: 'new' }), 403, /only org admins can create employees/],
  ['admin', 'employee.update', () => ({ employee_id: ids.member!, updates: { name: 'renamed' } }), 0],
  ['member', 'employee.update', () => ({ employee_id: ids.member!, updates: { name: 'my new name' } }), 0],
  [
    'member',
    'employee.update',
    () => ({ employee_id: ids.outsider!, updates: { name: 'x' } }),
    403,
    /only org admins can update other employees/,
  ],
  [
    'member',
    'employee.update',
    () => ({ employee_id: ids.member!, updates: { department_id: null } }),
    403,
    /only org admins can change department_id/,
  ],
  [
    'member',
    'employee.update',
    async (w) => withChallenge(w, { employee_id: ids.member!, updates: { role: 'admin' } }),
    403,
    /only org admins can change role/,
  ],
  [
    'admin',
    'employee.update',
    () => ({ employee_id: ids.outsider!, updates: { status: 'disabled' } }),
    403,
    /challenge/,
  ],
  ['admin', 'department.create', () => ({ name: 'd' }), 0],
  ['member', 'department.create', () => ({ name: 'd' }), 403, /only org admins can create departments/],
  [
    'member',
    'department.update',
    async () => ({ department_id: await freshDepartment(), updates: { name: 'x' } }),
    403,
    /only org admins/,
  ],
  ['admin', 'department.delete', async (w) => withChallenge(w, { department_id: await freshDepartment() }), 0],
  [
    'member',
    'department.delete',
    async (w) => withChallenge(w, { department_id: await freshDepartment() }),
    403,
    /only org admins can delete departments/,
  ],
  ['admin', 'audit.query', () => ({}), 0],
  ['member', 'audit.query', () => ({}), 403, /only org admins can query the audit log/],
  // Everyone active reads the org and the agents, and may create groups and challenges.
  ['member', 'org.tree', () => ({}), 0],
  ['member', 'agent.capability_list', () => ({}), 0],
  ['member', 'auth.challenge', () => ({}), 0],
  ['member', 'group.create', () => ({ name: 'mine', member_ids: [ids.outsider!] }), 0],
  ['member', 'group.create', () => ({ name: 'x', member_ids: [ids.inactive!] }), 403, /disabled employees cannot join/],
  // Group owner/admins and org admins manage a group.
  ['owner', 'group.member_add', async () => ({ group_id: await freshGroup(), member_ids: [ids.outsider!] }), 0],
  ['groupAdmin', 'group.member_add', async () => ({ group_id: await freshGroup(), member_ids: [ids.outsider!] }), 0],
  ['admin', 'group.member_add', async () => ({ group_id: await freshGroup(), member_ids: [ids.outsider!] }), 0],
  [
    'groupMember',
    'group.member_add',
    async () => ({ group_id: await freshGroup(), member_ids: [ids.outsider!] }),
    403,
    /owner or admins, or org admins/,
  ],
  [
    'outsider',
    'group.member_add',
    async () => ({ group_id: await freshGroup(), member_ids: [ids.outsider!] }),
    403,
    /owner or admins, or org admins/,
  ],
  [
    'groupAdmin',
    'group.member_remove',
    async () => ({ group_id: await freshGroup(), member_ids: [ids.groupMember!] }),
    0,
  ],
  [
    'groupMember',
    'group.member_remove',
    async () => ({ group_id: await freshGroup(), member_ids: [ids.groupMember!] }),
    0,
  ],
  [
    'groupMember',
    'group.member_remove',
    async () => ({ group_id: await freshGroup(), member_ids: [ids.groupAdmin!] }),
    403,
    /can remove others/,
  ],
  [
    'admin',
    'group.member_remove',
    async () => ({ group_id: await freshGroup(), member_ids: [ids.owner!] }),
    409,
    /owner cannot be removed/,
  ],
  ['owner', 'group.dismiss', async (w) => withChallenge(w, { group_id: await freshGroup() }), 0],
  ['groupAdmin', 'group.dismiss', async (w) => withChallenge(w, { group_id: await freshGroup() }), 0],
  ['admin', 'group.dismiss', async (w) => withChallenge(w, { group_id: await freshGroup() }), 0],
  [
    'groupMember',
    'group.dismiss',
    async (w) => withChallenge(w, { group_id: await freshGroup() }),
    403,
    /owner or admins, or org admins/,
  ],
  [
    'outsider',
    'group.dismiss',
    async (w) => withChallenge(w, { group_id: await freshGroup() }),
    403,
    /owner or admins, or org admins/,
  ],
  ['owner', 'group.dismiss', async () => ({ group_id: await freshGroup() }), 403, /auth\.challenge/],
  // Only members send to a group; org admins are no exception.
  ['admin', 'system.broadcast', async (w) => withChallenge(w, { title: 'x', content: 'y' }), 0],
  ['member', 'system.broadcast', async (w) => withChallenge(w, { title: 'x', content: 'y' }), 403, /only org admins/],
  ['owner', 'group.members', async () => ({ group_id: await freshGroup() }), 0],
  ['groupAdmin', 'group.members', async () => ({ group_id: await freshGroup() }), 0],
  ['groupMember', 'group.members', async () => ({ group_id: await freshGroup() }), 0],
  ['admin', 'group.members', async () => ({ group_id: await freshGroup() }), 0],
  ['outsider', 'group.members', async () => ({ group_id: await freshGroup() }), 403, /only its members and org admins/],
  ['groupMember', 'msg.send_group', async () => ({ group_id: await freshGroup(), content: 'hi' }), 0],
  ['outsider', 'msg.send_group', async () => ({ group_id: await freshGroup(), content: 'hi' }), 403, /only members/],
  ['admin', 'msg.send_group', async () => ({ group_id: await freshGroup(), content: 'hi' }), 403, /only members/],
  ['member', 'msg.send_group', () => ({ group_id: 'grp_nowhere', content: 'hi' }), 404, /no such group/],
  [
    'outsider',
    'msg.read_ack',
    async () => ({ msg_id: 'm', conversation_type: 'group', group_id: await freshGroup() }),
    403,
    /only members/,
  ],
  // Private messages only to existing, active employees.
  ['member', 'msg.send_private', () => ({ to_employee_id: ids.outsider!, content: 'hi' }), 0],
  ['member', 'msg.send_private', () => ({ to_employee_id: ids.inactive!, content: 'hi' }), 403, /disabled/],
  ['member', 'msg.send_private', () => ({ to_employee_id: 'perm_ghost', content: 'hi' }), 404, /no such employee/],
  // Disabled employees can do nothing; unbound clients must bind first.
  ...(['org.tree', 'msg.send_private', 'group.create', 'auth.challenge'] as const).map((a): Row => [
    'disabled',
    a,
    () => ({ to_employee_id: ids.member!, content: 'x', name: 'x', member_ids: [ids.member!] }),
    403,
    /employee is disabled/,
  ]),
  ...(['org.tree', 'msg.send_private', 'employee.create'] as const).map((a): Row => [
    'unbound',
    a,
    () => ({ to_employee_id: ids.member!, content: 'x', name: 'x' }),
    401,
    /send auth\.bind first/,
  ]),
]

describe('permission matrix (docs/actions.md#who-may-do-what)', () => {
  it.each(rows.map((r, i) => [`${i}: ${r[0]} × ${r[1]} → ${r[3]}`, ...r] as const))(
    '%s',
    async (_name, who, action, payload, code, why) => {
      const a = await callAction(app, s.h, action, client[who], await payload(who))
      expect(a.reply.code, a.reply.message).toBe(code)
      if (why) expect(a.reply.message).toMatch(why)
      if (code !== 0) expect(a.reply.data).toBeNull()
    },
  )
})
