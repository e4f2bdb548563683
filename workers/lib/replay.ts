import { ok, type ActionName, type Reply, type ReplyOf } from '../../schema/index.ts'
import type { Bindings, Caller, RelayCall } from '../env.ts'
import type { ActionHandler, Derive } from './action.ts'
import { answer } from './answer.ts'
import type { StoredReply } from './context.ts'
import { fail } from './errors.ts'

/** The same reply and deliveries as the first time, or 409 if the seq_id was reused for another body. */
export async function replay<A extends ActionName>(
  handler: Pick<ActionHandler<A, unknown>, 'replay'> & { derive?: Derive<A> | undefined },
  stored: StoredReply,
  input: unknown,
  caller: Caller | null,
  call: RelayCall,
  env: Bindings,
): Promise<Response> {
  if (stored.body_hash !== call.bodyHash) fail(409, 'seq_id was already used for a different request')
  const data = stored.reply.data as ReplyOf<A>
  const reply: Reply = handler.replay ? ok(await handler.replay(data, env)) : stored.reply
  const derived = handler.derive && caller ? handler.derive(input as never, data, caller, stored.facts) : []
  return answer(concat(stored.deliveries, derived), reply)
}

export function* concat<T>(...lists: Iterable<T>[]): Generator<T> {
  for (const l of lists) yield* l
}
