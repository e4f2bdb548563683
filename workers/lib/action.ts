import type { NeonQueryPromise } from '@neondatabase/serverless'
import type { ActionName, Actions, Delivery, ReplyOf, RequestOf } from '../../schema/index.ts'
import type { Bindings, Caller, RelayCall } from '../env.ts'
import type { Sql } from './db.ts'

// Queries are built with the request's `sql` and run by the runner in one transaction.
export type Write = NeonQueryPromise<false, false, any>

export interface ActionContext<A extends ActionName, L> {
  input: RequestOf<A>
  /** The bound employee; null only for actions that need no session (auth.bind). */
  caller: Actions[A]['session'] extends 'none' ? Caller | null : Caller
  call: RelayCall
  env: Bindings
  sql: Sql
  /** What `load` read, in parallel with the session lookup. */
  loaded: L
  now: Date
}

export interface Outcome<A extends ActionName> {
  data: ReplyOf<A>
  /** Kept with the reply and replayed as they are: never message content (DESIGN contract 3). */
  deliveries?: Delivery[]
  /** Run atomically together with the stored reply (write actions). */
  writes?: Write[]
}

export interface ActionHandler<A extends ActionName, L = undefined> {
  action: A
  /**
   * Reads only, run in parallel with the session lookup to save a round trip; its result is
   * dropped if the caller turns out not to be allowed.
   */
  load?: (input: RequestOf<A>, sql: Sql, env: Bindings) => Promise<L>
  /** When present the action is audited with what this returns (never secrets). */
  audit?: (input: RequestOf<A>, data: ReplyOf<A>) => { params: Record<string, unknown>; operator?: string }
  /** The form kept for replays, when the reply holds something that must not rest in the database. */
  store?: (data: ReplyOf<A>) => ReplyOf<A>
  /** Rebuilds the reply from its stored form on a replay. */
  replay?: (stored: ReplyOf<A>, env: Bindings) => Promise<ReplyOf<A>>
  /**
   * Deliveries rebuilt from the request and its reply, the first time and on every replay, so
   * message content is relayed without ever being stored. The body of a replay is hash-identical.
   */
  derive?: (input: RequestOf<A>, data: ReplyOf<A>, caller: Caller) => Delivery[]
  handle: (ctx: ActionContext<A, L>) => Promise<Outcome<A>>
}

export const defineHandler = <A extends ActionName, L = undefined>(h: ActionHandler<A, L>) => h

export const deliver = (topic: string, payload: unknown): Delivery => ({ topic, payload })
