import type { z } from 'zod'
import { agentCapabilityList } from './agent.capability_list.ts'
import { auditQuery } from './audit.query.ts'
import { authBind } from './auth.bind.ts'
import { authChallenge } from './auth.challenge.ts'
import { configStorage } from './config.storage.ts'
import { fileDownloadUrl } from './file.download_url.ts'
import { fileUploadUrl } from './file.upload_url.ts'
import { departmentCreate } from './department.create.ts'
import { departmentDelete } from './department.delete.ts'
import { departmentUpdate } from './department.update.ts'
import { employeeCreate } from './employee.create.ts'
import { employeeUpdate } from './employee.update.ts'
import { groupCreate } from './group.create.ts'
import { groupDismiss } from './group.dismiss.ts'
import { groupList } from './group.list.ts'
import { groupMembers } from './group.members.ts'
import { groupMemberAdd } from './group.member_add.ts'
import { groupMemberRemove } from './group.member_remove.ts'
import { msgReadAck } from './msg.read_ack.ts'
import { msgSendGroup } from './msg.send_group.ts'
import { msgSendPrivate } from './msg.send_private.ts'
import { orgTree } from './org.tree.ts'
import { systemBroadcast } from './system.broadcast.ts'

/**
 * Every action MChat serves, by its name (seed 002 §2.1–2.3, §2.5), plus audit.query (seed 000
 * §6.3) and group.list (what a client subscribes to).
 */
export const actions = {
  [authBind.name]: authBind,
  [authChallenge.name]: authChallenge,
  [employeeCreate.name]: employeeCreate,
  [employeeUpdate.name]: employeeUpdate,
  [orgTree.name]: orgTree,
  [departmentCreate.name]: departmentCreate,
  [departmentUpdate.name]: departmentUpdate,
  [departmentDelete.name]: departmentDelete,
  [groupCreate.name]: groupCreate,
  [groupDismiss.name]: groupDismiss,
  [groupList.name]: groupList,
  [groupMembers.name]: groupMembers,
  [groupMemberAdd.name]: groupMemberAdd,
  [groupMemberRemove.name]: groupMemberRemove,
  [msgSendPrivate.name]: msgSendPrivate,
  [msgSendGroup.name]: msgSendGroup,
  [msgReadAck.name]: msgReadAck,
  [agentCapabilityList.name]: agentCapabilityList,
  [auditQuery.name]: auditQuery,
  [configStorage.name]: configStorage,
  [fileUploadUrl.name]: fileUploadUrl,
  [fileDownloadUrl.name]: fileDownloadUrl,
  [systemBroadcast.name]: systemBroadcast,
} as const

export type Actions = typeof actions
export type ActionName = keyof Actions
export type RequestOf<A extends ActionName> = z.output<Actions[A]['request']>
export type RequestInputOf<A extends ActionName> = z.input<Actions[A]['request']>
export type ReplyOf<A extends ActionName> = z.output<Actions[A]['reply']>

export const ACTION_NAMES = Object.keys(actions) as ActionName[]

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(actions, name)
}
