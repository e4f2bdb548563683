import type { z } from 'zod'

export interface ActionContract<
  Name extends string = string,
  Req extends z.ZodType = z.ZodType,
  Res extends z.ZodType = z.ZodType,
> {
  name: Name
  /** The request payload without the envelope (`action`, `seq_id`). */
  request: Req
  /** The reply's `data` on success. */
  reply: Res
  /** `none`: callable by a client with no bound session (only auth.bind). */
  session: 'none' | 'required'
  /** `write`: the reply is stored so a repeated (client_id, seq_id) returns it without a second effect. */
  effect: 'read' | 'write'
  /** The rate-limit class it counts against, per employee: conversation traffic or everything else. */
  limit: RateLimitClass
}

export type RateLimitClass = 'message' | 'management'

export const defineAction = <N extends string, Req extends z.ZodType, Res extends z.ZodType>(
  c: ActionContract<N, Req, Res>,
) => c
