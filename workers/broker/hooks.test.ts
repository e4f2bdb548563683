import { describe, expect, it } from 'vitest'
import { BROKER_HOOK_PATHS, SERVICE_IDENTITY } from '../../schema/index.ts'
import { brokerLogin } from '../../relay/broker-login.ts'
import { callAction, challengeFor, createAndBind, createGroup } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'
import { issueOpsCredential } from '../lib/credentials.ts'

const s = workerSuite()
const SECRET = 'hook-secret-for-tests-0123456789'

async function hook(path: string, body: unknown, secret: string | null = SECRET, env: Record<string, unknown> = {}) {
  const res = await app.request(
    path,
    {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: {
        'content-type': 'application/json',
        ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
      },
    },
    { ...s.h.env, BROKER_HOOK_SECRET: SECRET, ...env },
  )
  return { status: res.status, body: (await res.json()) as any }
}
const authn = (clientid: string, username: string, password: string) =>
  hook(BROKER_HOOK_PATHS.authn, { clientid, username, password })
const authz = (clientid: string, username: string, topic: string, action: 'publish' | 'subscribe') =>
  hook(BROKER_HOOK_PATHS.authz, { clientid, username, topic, action }).then((r) => r.body.result as string)

/** Every (topic, action) of `cases` decided for this client as its third element says. */
async function expectDecisions(
  clientid: string,
  username: string,
  cases: Array<[string, 'publish' | 'subscribe', string]>,
) {
  const got = await Promise.all(cases.map(([t, a]) => authz(clientid, username, t, a)))
  expect(cases.map(([t, a], i) => `${a} ${t} ${got[i]}`)).toEqual(cases.map(([t, a, want]) => `${a} ${t} ${want}`))
}

describe('the broker hooks answer only the broker', () => {
  it('no configured secret → 503, missing or wrong secret → 401, a malformed body → 400', async () => {
    expect(
      (await hook(BROKER_HOOK_PATHS.authn, { clientid: 'a.b' }, SECRET, { BROKER_HOOK_SECRET: undefined })).status,
    ).toBe(503)
    expect((await hook(BROKER_HOOK_PATHS.authn, { clientid: 'a.b' }, null)).status).toBe(401)
    expect(
      (await hook(BROKER_HOOK_PATHS.authz, { clientid: 'a.b', topic: 't', action: 'publish' }, `${SECRET}x`)).status,
    ).toBe(401)
    expect((await hook(BROKER_HOOK_PATHS.authn, '{nope')).status).toBe(400)
    expect((await hook(BROKER_HOOK_PATHS.authz, { clientid: 'a.b', topic: 't', action: 'read' })).status).toBe(400)
  })
})

describe('authn', () => {
  it('an employee connects with its own password under its own client ids only', async () => {
    const e = await createAndBind(app, s.h, s.admin, { name: 'Hook One', employee_id: 'hk_one' })
    const other = await createAndBind(app, s.h, s.admin, { name: 'Hook Two', employee_id: 'hk_two' })
    expect((await authn('hk_one.phone', 'hk_one', e.password)).body).toEqual({ result: 'allow', is_superuser: false })
    // Another employee's client id, username or password: refused.
    expect((await authn('hk_two.phone', 'hk_one', e.password)).body.result).toBe('deny')
    expect((await authn('hk_two.phone', 'hk_two', e.password)).body.result).toBe('deny')
    expect((await authn('hk_one.phone', 'hk_one', other.password)).body.result).toBe('deny')
    // Not the client-id scheme, no password, a forged token.
    expect((await authn('hk_one', 'hk_one', e.password)).body.result).toBe('deny')
    expect((await authn('hk_one.phone', 'hk_one', '')).body.result).toBe('deny')
    expect((await authn('hk_one.phone', 'hk_one', `${e.password.slice(0, -4)}AAAA`)).body.result).toBe('deny')
    // A username that claims to be the relay or ops, with an employee's password.
    expect((await authn('hk_one.phone', SERVICE_IDENTITY.relayUsername, e.password)).body.result).toBe('deny')
    expect((await authn('ops:hk_one.cli', 'ops:hk_one', e.password)).body.result).toBe('deny')
  })

  it('rotating credentials refuses the old password, returns a new one once (the same on a replay), and unbinds the clients', async () => {
    const e = await createAndBind(app, s.h, s.admin, { name: 'Rotor', employee_id: 'hk_rotor' })
    const seq = 'rotate-1'
    const payload = {
      employee_id: 'hk_rotor',
      updates: { rotate_credentials: true },
      ...(await challengeFor(app, s.h, e.clientId, 'employee.update')),
    }
    const r = await callAction(app, s.h, 'employee.update', e.clientId, payload, seq)
    expect(r.reply.code).toBe(0)
    const fresh = r.reply.data.mqtt_connection.mqtt_password as string
    expect(fresh).not.toBe(e.password)
    expect(r.reply.data.credential_version).toBe(2)
    expect(r.deliveries).toEqual([]) // nothing of the profile changed
    const again = await callAction(app, s.h, 'employee.update', e.clientId, payload, seq)
    expect(again.reply.data.mqtt_connection.mqtt_password).toBe(fresh)
    const stored = await s.h.db.query(
      'SELECT reply::text AS r FROM request_reply WHERE client_id = $1 AND seq_id = $2',
      [e.clientId, seq],
    )
    expect(stored.rows[0].r).not.toContain(fresh)

    expect((await authn('hk_rotor.phone', 'hk_rotor', e.password)).body.result).toBe('deny')
    expect((await authn('hk_rotor.phone', 'hk_rotor', fresh)).body.result).toBe('allow')
    expect((await callAction(app, s.h, 'org.tree', e.clientId)).reply.code).toBe(401)
    expect((await callAction(app, s.h, 'auth.bind', e.clientId, { mqtt_password: e.password })).reply.code).toBe(401)
    expect((await callAction(app, s.h, 'auth.bind', e.clientId, { mqtt_password: fresh })).reply.code).toBe(0)
  })

  it('rotation is sensitive (needs a challenge) and only for oneself or by an org admin', async () => {
    const e = await createAndBind(app, s.h, s.admin, { name: 'Rot Two', employee_id: 'hk_rot2' })
    const x = await createAndBind(app, s.h, s.admin, { name: 'Rot Three', employee_id: 'hk_rot3' })
    expect(
      (
        await callAction(app, s.h, 'employee.update', e.clientId, {
          employee_id: 'hk_rot2',
          updates: { rotate_credentials: true },
        })
      ).reply.code,
    ).toBe(403)
    const other = await callAction(app, s.h, 'employee.update', x.clientId, {
      employee_id: 'hk_rot2',
      updates: { rotate_credentials: true },
      ...(await challengeFor(app, s.h, x.clientId)),
    })
    expect(other.reply.code).toBe(403)
    const byAdmin = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'hk_rot2',
      updates: { rotate_credentials: true },
      ...(await challengeFor(app, s.h, s.admin)),
    })
    expect(byAdmin.reply.code).toBe(0)
    expect((await authn('hk_rot2.phone', 'hk_rot2', e.password)).body.result).toBe('deny')
  })

  it('a disabled employee is refused', async () => {
    const e = await createAndBind(app, s.h, s.admin, { name: 'Leaver', employee_id: 'hk_leaver' })
    const r = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'hk_leaver',
      updates: { status: 'disabled' },
      ...(await challengeFor(app, s.h, s.admin)),
    })
    expect(r.reply.code).toBe(0)
    expect((await authn('hk_leaver.phone', 'hk_leaver', e.password)).body.result).toBe('deny')
  })

  it('the relay is a superuser with a token it signed for its own client id; ops with an ops token', async () => {
    const relay = await brokerLogin(s.h.keys.relayPrivateJwk, 'relay-1')
    expect((await authn('relay-1', relay.username, relay.current())).body).toEqual({
      result: 'allow',
      is_superuser: true,
    })
    expect((await authn('relay-2', relay.username, relay.current())).body.result).toBe('deny')
    const ops = await issueOpsCredential(s.h.env, 'alice', 300)
    expect((await authn('ops:alice.cli', 'ops:alice', ops)).body).toEqual({ result: 'allow', is_superuser: false })
    expect((await authn('ops:alice.cli', 'ops:bob', ops)).body.result).toBe('deny')
    expect((await authn('admin.cli', 'admin', ops)).body.result).toBe('deny')
  })
})

describe('underscore-form client ids (seed 000 §4.1: {employee_id}_{device_id}_…)', () => {
  // hk_dev_x exists before hk_dev (creating it after would be refused: it extends hk_dev's id),
  // so `hk_dev_x_phone` could be either's by its form; it is the longer id's.
  let made: Promise<Record<'longer' | 'shorter', { employee_id: string; password: string }>> | undefined
  const make = async () => {
    const longer = await createAndBind(app, s.h, s.admin, { name: 'Dev X', employee_id: 'hk_dev_x' })
    const shorter = await createAndBind(app, s.h, s.admin, { name: 'Dev', employee_id: 'hk_dev' })
    return { longer, shorter }
  }
  const ids = () => (made ??= make())

  it('authn: a client id belongs to the longest employee id it starts with, then _', async () => {
    const { longer, shorter } = await ids()
    const verdict = async (cid: string, who: { employee_id: string; password: string }) =>
      (await authn(cid, who.employee_id, who.password)).body.result as string
    expect(await verdict('hk_dev_phone', shorter)).toBe('allow')
    expect(await verdict('hk_dev_device1_550e8400-e29b-41d4-a716-446655440000', shorter)).toBe('allow')
    // No employee hk_dev_y: the id is hk_dev's.
    expect(await verdict('hk_dev_y_phone', shorter)).toBe('allow')
    // The prefix attack: hk_dev's login under the longer employee's id.
    expect(await verdict('hk_dev_x_phone', shorter)).toBe('deny')
    expect(await verdict('hk_dev_x_phone', longer)).toBe('allow')
    expect(await verdict('hk_dev_x_a_b', longer)).toBe('allow')
    // Not the longer one's by form, or no device part.
    expect(await verdict('hk_dev_phone', longer)).toBe('deny')
    for (const cid of ['hk_dev_', 'hk_dev', '_hk_dev_phone', 'hk_dev_ph one', 'hk_dev_x.phone']) {
      expect(await verdict(cid, shorter), cid).toBe('deny')
    }
  })

  it('authz: its own underscore id only; replies of another underscore id are never readable', async () => {
    await ids()
    const cases: Array<[string, 'publish' | 'subscribe', string]> = [
      ['mchat/msg/req/hk_dev_phone/1', 'publish', 'allow'],
      ['mchat/msg/req/hk_dev_x_phone/1', 'publish', 'deny'],
      ['mchat/msg/req/hk_dev.cli/1', 'publish', 'deny'],
      ['mchat/msg/resp/hk_dev_phone/+', 'subscribe', 'allow'],
      ['mchat/msg/resp/hk_dev.cli/+', 'subscribe', 'allow'],
      ['mchat/msg/resp/hk_dev_x_phone/+', 'subscribe', 'deny'],
      ['mchat/msg/resp/hk_dev_tablet/+', 'subscribe', 'deny'],
      ['mchat/inbox/hk_dev', 'subscribe', 'allow'],
      ['mchat/inbox/hk_dev_x', 'subscribe', 'deny'],
      ['mchat/status/hk_dev', 'publish', 'allow'],
    ]
    await expectDecisions('hk_dev_phone', 'hk_dev', cases)
    // A dot-form client of hk_dev may not read an underscore id's replies either.
    expect(await authz('hk_dev.cli', 'hk_dev', 'mchat/msg/resp/hk_dev_phone/+', 'subscribe')).toBe('deny')
    expect(await authz('hk_dev_x_phone', 'hk_dev_x', 'mchat/inbox/hk_dev_x', 'subscribe')).toBe('allow')
  })

  it('auth.bind follows the same rule, and an id that extends another with _ cannot be created', async () => {
    const { longer, shorter } = await ids()
    const bind = (cid: string, password: string) => callAction(app, s.h, 'auth.bind', cid, { mqtt_password: password })
    const ok = await bind('hk_dev_tablet_1', shorter.password)
    expect([ok.reply.code, ok.reply.data]).toEqual([0, { employee_id: 'hk_dev' }])
    expect((await callAction(app, s.h, 'org.tree', 'hk_dev_tablet_1')).reply.code).toBe(0)
    const taken = await bind('hk_dev_x_tablet', shorter.password)
    expect([taken.reply.code, taken.reply.message]).toEqual([
      403,
      'client_id belongs to hk_dev_x, the longest employee id it starts with; use hk_dev.{device_id}',
    ])
    expect((await bind('hk_dev_x_tablet', longer.password)).reply.code).toBe(0)
    const created = await callAction(app, s.h, 'employee.create', s.admin, { name: 'Dev Y', employee_id: 'hk_dev_y' })
    expect([created.reply.code, created.reply.message]).toEqual([
      409,
      "employee_id: hk_dev_y is hk_dev's id followed by _, so it would take over client ids hk_dev may use (hk_dev_y_…); choose another",
    ])
  })
})

describe('authz (seed 000 §5.2)', () => {
  it('an employee publishes only its own requests and status, and subscribes only what is its own or public', async () => {
    const [c, u] = ['hz_a.phone', 'hz_a']
    const cases: Array<[string, 'publish' | 'subscribe', string]> = [
      ['mchat/msg/req/hz_a.phone/1', 'publish', 'allow'],
      ['mchat/msg/req/hz_a.laptop/1', 'publish', 'deny'],
      ['mchat/msg/req/hz_b.phone/1', 'publish', 'deny'],
      ['mchat/status/hz_a', 'publish', 'allow'],
      ['mchat/status/hz_b', 'publish', 'deny'],
      ['mchat/inbox/hz_a', 'publish', 'deny'],
      ['mchat/inbox/hz_b', 'publish', 'deny'],
      ['mchat/group/g1', 'publish', 'deny'],
      ['mchat/profile/hz_a', 'publish', 'deny'],
      ['mchat/system/notify', 'publish', 'deny'],
      ['mchat/msg/resp/hz_a.phone/1', 'publish', 'deny'],
      ['mchat/ops/routes', 'publish', 'deny'],
      ['mchat/msg/resp/hz_a.phone/+', 'subscribe', 'allow'],
      ['mchat/msg/resp/hz_a.phone/7', 'subscribe', 'allow'],
      ['mchat/msg/resp/hz_a.laptop/+', 'subscribe', 'allow'],
      ['mchat/msg/resp/hz_b.phone/+', 'subscribe', 'deny'],
      ['mchat/msg/resp/hz_a.phone/+/x', 'subscribe', 'deny'],
      ['mchat/msg/resp/hz_a.phone', 'subscribe', 'deny'],
      ['mchat/msg/resp/+/+', 'subscribe', 'deny'],
      ['mchat/msg/resp/hz_a.phone/#', 'subscribe', 'deny'],
      ['mchat/inbox/hz_a', 'subscribe', 'allow'],
      ['mchat/profile/hz_a', 'subscribe', 'allow'],
      ['mchat/system/notify', 'subscribe', 'allow'],
      ['mchat/status/+', 'subscribe', 'allow'],
      ['mchat/status/hz_b', 'subscribe', 'allow'],
      ['mchat/inbox/hz_b', 'subscribe', 'deny'],
      ['mchat/inbox/+', 'subscribe', 'deny'],
      ['mchat/inbox/#', 'subscribe', 'deny'],
      ['mchat/#', 'subscribe', 'deny'],
      ['#', 'subscribe', 'deny'],
      ['mchat/profile/hz_b', 'subscribe', 'deny'],
      ['mchat/group/+', 'subscribe', 'deny'],
      ['mchat/msg/req/+/+', 'subscribe', 'deny'],
      ['$share/gateway/mchat/msg/req/+/+', 'subscribe', 'deny'],
      ['mchat/ops/#', 'subscribe', 'deny'],
      ['$SYS/#', 'subscribe', 'deny'],
    ]
    await expectDecisions(c, u, cases)
    // A client id that is not the username's is refused everything.
    expect(await authz('hz_b.phone', 'hz_a', 'mchat/inbox/hz_a', 'subscribe')).toBe('deny')
  })

  it('a group topic is for its current members: a new member at once, a removed one no more, nobody after dismissal', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'G Owner', employee_id: 'hz_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'G Late', employee_id: 'hz_late' })
    const gid = await createGroup(app, s.h, owner.clientId, 'hz group', ['hz_owner'])
    const sub = (who: string) => authz(`${who}.phone`, who, `mchat/group/${gid}`, 'subscribe')
    expect([await sub('hz_owner'), await sub('hz_late')]).toEqual(['allow', 'deny'])
    expect(
      (await callAction(app, s.h, 'group.member_add', owner.clientId, { group_id: gid, member_ids: ['hz_late'] })).reply
        .code,
    ).toBe(0)
    expect(await sub('hz_late')).toBe('allow')
    expect(
      (await callAction(app, s.h, 'group.member_remove', owner.clientId, { group_id: gid, member_ids: ['hz_late'] }))
        .reply.code,
    ).toBe(0)
    expect(await sub('hz_late')).toBe('deny')
    const d = await callAction(app, s.h, 'group.dismiss', owner.clientId, {
      group_id: gid,
      ...(await challengeFor(app, s.h, owner.clientId)),
    })
    expect(d.reply.code).toBe(0)
    expect(await sub('hz_owner')).toBe('deny')
    expect(await authz('hz_owner.phone', 'hz_owner', 'mchat/group/no_such_group', 'subscribe')).toBe('deny')
  })

  it('the relay may do anything; ops only under mchat/ops/', async () => {
    expect(await authz('relay-1', SERVICE_IDENTITY.relayUsername, 'mchat/inbox/anyone', 'publish')).toBe('allow')
    expect(await authz('ops:alice.cli', 'ops:alice', 'mchat/ops/routes', 'publish')).toBe('allow')
    expect(await authz('ops:alice.cli', 'ops:alice', 'mchat/ops/#', 'subscribe')).toBe('allow')
    expect(await authz('ops:alice.cli', 'ops:alice', 'mchat/inbox/hz_a', 'subscribe')).toBe('deny')
    expect(await authz('ops:alice.cli', 'ops:alice', 'mchat/msg/req/ops:alice.cli/1', 'publish')).toBe('deny')
  })
})
