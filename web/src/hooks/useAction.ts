import { useCallback, useState } from 'react'
import { MChatError, type ActionName, type ReplyOf, type RequestInputOf } from '../lib/mchat.ts'
import { useClient } from './useSession.tsx'

export interface ActionError {
  code: number
  /** The server's own message (or the SDK's, for a timeout or a lost connection). */
  message: string
}

export function toActionError(err: unknown): ActionError {
  if (err instanceof MChatError) return { code: err.code, message: err.message }
  return { code: 0, message: err instanceof Error ? err.message : String(err) }
}

/**
 * One action with its progress and its last error. `run` resolves to the reply's data, or to
 * undefined after a refusal (then `error` holds the server's code and message).
 */
export function useAction<A extends ActionName>(action: A) {
  const client = useClient()
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ActionError | null>(null)
  const run = useCallback(
    async (payload: RequestInputOf<A>): Promise<ReplyOf<A> | undefined> => {
      setPending(true)
      setError(null)
      try {
        return await client.request(action, payload)
      } catch (err) {
        setError(toActionError(err))
        return undefined
      } finally {
        setPending(false)
      }
    },
    [client, action],
  )
  const reset = useCallback(() => setError(null), [])
  return { run, pending, error, reset }
}
