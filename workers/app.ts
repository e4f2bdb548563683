import { Hono } from 'hono'
import { actionPath, BROKER_HOOK_PATHS, fail as failReply, type ActionName } from '../schema/index.ts'
import agentCapabilityList from './actions/agent.capability_list.ts'
import auditQuery from './actions/audit.query.ts'
import authBind from './actions/auth.bind.ts'
import authChallenge from './actions/auth.challenge.ts'
import configStorage from './actions/config.storage.ts'
import departmentCreate from './actions/department.create.ts'
import departmentDelete from './actions/department.delete.ts'
import departmentUpdate from './actions/department.update.ts'
import employeeCreate from './actions/employee.create.ts'
import employeeUpdate from './actions/employee.update.ts'
import fileDownloadUrl from './actions/file.download_url.ts'
import fileUploadUrl from './actions/file.upload_url.ts'
import groupCreate from './actions/group.create.ts'
import groupDismiss from './actions/group.dismiss.ts'
import groupList from './actions/group.list.ts'
import groupMembers from './actions/group.members.ts'
import groupMemberAdd from './actions/group.member_add.ts'
import groupMemberRemove from './actions/group.member_remove.ts'
import msgReadAck from './actions/msg.read_ack.ts'
import msgSendGroup from './actions/msg.send_group.ts'
import msgSendPrivate from './actions/msg.send_private.ts'
import orgTree from './actions/org.tree.ts'
import systemBroadcast from './actions/system.broadcast.ts'
import { authn } from './broker/authn.ts'
import { authz } from './broker/authz.ts'
import type { AppEnv } from './env.ts'
import { isOneTrip, type AnyHandler } from './lib/action.ts'
import { errorReply } from './lib/errors.ts'
import { runAction } from './lib/run.ts'
import { admitOnce } from './middleware/admit-once.ts'
import { auditAttempt } from './middleware/audit-attempt.ts'
import { brokerAuth } from './middleware/broker-auth.ts'
import { rateLimit } from './middleware/rate-limit.ts'
import { relayAuth } from './middleware/relay-auth.ts'
import { resolveSession } from './middleware/resolve-session.ts'
import { validateInput } from './middleware/validate-input.ts'

/** Every action's handler; the type makes a contract without a handler a compile error. */
export const handlers: { [A in ActionName]: AnyHandler<A> } = {
  'auth.bind': authBind,
  'auth.challenge': authChallenge,
  'employee.create': employeeCreate,
  'employee.update': employeeUpdate,
  'org.tree': orgTree,
  'department.create': departmentCreate,
  'department.update': departmentUpdate,
  'department.delete': departmentDelete,
  'group.create': groupCreate,
  'group.dismiss': groupDismiss,
  'group.list': groupList,
  'group.members': groupMembers,
  'group.member_add': groupMemberAdd,
  'group.member_remove': groupMemberRemove,
  'msg.send_private': msgSendPrivate,
  'msg.send_group': msgSendGroup,
  'msg.read_ack': msgReadAck,
  'agent.capability_list': agentCapabilityList,
  'audit.query': auditQuery,
  'config.storage': configStorage,
  'file.upload_url': fileUploadUrl,
  'file.download_url': fileDownloadUrl,
  'system.broadcast': systemBroadcast,
}

export function createApp() {
  const app = new Hono<AppEnv>()
  app.get('/healthz', (c) => c.text('ok'))
  app.post(BROKER_HOOK_PATHS.authn, brokerAuth(), authn())
  app.post(BROKER_HOOK_PATHS.authz, brokerAuth(), authz())
  for (const handler of Object.values(handlers) as AnyHandler<ActionName>[]) {
    const front = [relayAuth(), auditAttempt(handler), validateInput(), rateLimit()] as const
    if (isOneTrip(handler)) app.post(actionPath(handler.action), ...front, admitOnce(handler))
    else app.post(actionPath(handler.action), ...front, resolveSession(handler), runAction(handler))
  }
  app.notFound((c) => c.json(failReply(404, 'unknown action'), 404))
  app.onError((err, c) => {
    const reply = errorReply(err)
    if (reply.code === 503) console.error(`unavailable: ${err.message}`)
    else if (reply.code === 500) console.error(err)
    return c.json({ ...failReply(reply.code, reply.message), data: reply.data }, reply.code)
  })
  return app
}

export const app = createApp()
export default app
