import type { NeonQueryPromise } from '@neondatabase/serverless'
import type { ActionName, Actions, Delivery, Reply, ReplyOf, RequestOf } from '../../schema/index.ts'
import type { Bindings, Caller, RelayCall } from '../env.ts'
import type { Sql } from './db.ts'

// Queries are built with the request's `sql` and run by the runner in one transaction.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a write of any row shape: its rows are never read
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
  /** Kept with the reply for `derive` (a group's name, who is notified): small, never content. */
  facts?: unknown
  /**
   * Runs once the writes have committed and before the reply goes out (revoking rights at the
   * broker). Not repeated on a replay; a failure is logged, the committed effect stands.
   */
  after?: () => Promise<void>
}

/** Rebuilds deliveries from the request and its reply, the first time and on every replay. */
export type Derive<A extends ActionName> = (
  input: RequestOf<A>,
  data: ReplyOf<A>,
  caller: Caller,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- facts are whatever the action's own SQL returned
  facts: any,
) => Iterable<Delivery>

export interface ActionHandler<A extends ActionName, L = undefined> {
  action: A
  /**
   * Reads only, run in parallel with the session lookup to save a round trip; its result is
   * dropped if the caller turns out not to be allowed.
   */
  load?: (input: RequestOf<A>, sql: Sql, env: Bindings) => Promise<L>
  /**
   * When present every attempt is audited: success with `data`, refusal with data null (the
   * runner adds the error). What it returns must hold no secret and no message content.
   */
  audit?: (
    input: RequestOf<A>,
    data: ReplyOf<A> | null,
  ) => { params: Record<string, unknown>; operator?: string | undefined }
  /** Requests that need a spent challenge (seed 000 §6.2): checked after `handle`'s own refusals. */
  sensitive?: (input: RequestOf<A>) => boolean
  /** The form kept for replays, when the reply holds something that must not rest in the database. */
  store?: (data: ReplyOf<A>) => ReplyOf<A>
  /** Rebuilds the reply from its stored form on a replay. */
  replay?: (stored: ReplyOf<A>, env: Bindings) => Promise<ReplyOf<A>>
  /**
   * Deliveries rebuilt from the request and its reply, so message content is relayed without
   * ever being stored, and large fan-outs are not stored either. A replay's body is hash-identical.
   */
  derive?: Derive<A>
  handle: (ctx: ActionContext<A, L>) => Promise<Outcome<A>>
}

/**
 * A conversation action answered in one database round trip: identity, permission and the
 * exactly-once record are one statement (see middleware/admit-once.ts).
 */
export interface OneTripHandler<A extends ActionName> {
  action: A
  oneTrip: true
  /** The reply stored if the statement admits the request: ids and times are made up front. */
  prepare: (input: RequestOf<A>, now: Date) => ReplyOf<A>
  /**
   * SQL expressions over the statement's `caller` CTE: `target` (json) describes what the
   * request is aimed at, `allowed` (boolean) says whether the caller may do it. The handler's
   * params are numbered from $6.
   */
  gate: (input: RequestOf<A>) => { target: string; allowed: string; params: unknown[]; extra?: string }
  /** Throws the refusal (403/404) that `target` explains. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the row the refusal looked up, shaped by the action
  refuse: (target: any, input: RequestOf<A>) => never
  derive: Derive<A>
  /**
   * Work after the derived deliveries are on their way (calling AI agents): null when there is
   * none, so such a request stays one round trip. Runs only for an admitted request, never a replay.
   */
  followUp?: (ctx: FollowUpContext<A>) => FollowUp | null
}

export interface FollowUpContext<A extends ActionName> {
  input: RequestOf<A>
  data: ReplyOf<A>
  caller: Caller
  call: RelayCall
  env: Bindings
  sql: Sql
  /** What the gate's `extra` SQL expression (json) found, in the same statement. */
  extra: unknown
}

/** Streams more deliveries after the first ones, then the reply that replaces the prepared one. */
export type FollowUp = AsyncIterator<Delivery, Reply | undefined>

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a handler whatever it loads, for the registry
export type AnyHandler<A extends ActionName> = ActionHandler<A, any> | OneTripHandler<A>

export const defineHandler = <A extends ActionName, L = undefined>(h: ActionHandler<A, L>) => h
export const defineOneTrip = <A extends ActionName>(h: Omit<OneTripHandler<A>, 'oneTrip'>): OneTripHandler<A> => ({
  ...h,
  oneTrip: true,
})

export const isOneTrip = <A extends ActionName>(h: AnyHandler<A>): h is OneTripHandler<A> => 'oneTrip' in h

export const deliver = (topic: string, payload: unknown): Delivery => ({ topic, payload })
