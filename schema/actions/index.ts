import type { z } from 'zod'
import { authBind } from './auth.bind.ts'
import { employeeCreate } from './employee.create.ts'
import { msgSendPrivate } from './msg.send_private.ts'
import { orgTree } from './org.tree.ts'

/** Every action MChat serves, by its name (seed 002 §2). */
export const actions = {
  [authBind.name]: authBind,
  [employeeCreate.name]: employeeCreate,
  [orgTree.name]: orgTree,
  [msgSendPrivate.name]: msgSendPrivate,
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
