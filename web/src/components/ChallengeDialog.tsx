import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react'
import { toActionError, type ActionError } from '../hooks/useAction.ts'
import { useClient } from '../hooks/useSession.tsx'
import type { ReplyOf } from '../lib/mchat.ts'
import { Field } from './Field.tsx'
import { ErrorMessage, Progress } from './Status.tsx'

export type SensitiveAction = 'group.dismiss' | 'department.delete' | 'employee.update'
export interface ChallengePair {
  challenge_id: string
  token: string
}

interface Props {
  action: SensitiveAction
  title: string
  description: ReactNode
  /** What the admin types to confirm (the group's or department's name). */
  confirmText: string
  confirmLabel: string
  /** Extra choices for the action (e.g. where a department's members go). */
  children?: ReactNode
  /** Sends the action with the challenge; throws the server's refusal. */
  run(challenge: ChallengePair): Promise<void>
  onClose(done: boolean): void
}

type Challenge = ReplyOf<'auth.challenge'>

/**
 * The second step of a sensitive action (seed 000 §6.2): the console asks the server for a
 * one-time challenge scoped to the action, the admin confirms, and the action carries it. A
 * challenge is used at most once: after a refusal the next attempt asks for a fresh one.
 */
export function ChallengeDialog({
  action,
  title,
  description,
  confirmText,
  confirmLabel,
  children,
  run,
  onClose,
}: Props) {
  const client = useClient()
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const [challenge, setChallenge] = useState<Challenge | null>(null)
  const [phase, setPhase] = useState<'challenging' | 'ready' | 'running'>('challenging')
  const [error, setError] = useState<ActionError | null>(null)
  const [typed, setTyped] = useState('')

  const ask = useCallback(async (): Promise<Challenge | null> => {
    setPhase('challenging')
    try {
      const c = await client.request('auth.challenge', { for_action: action })
      setChallenge(c)
      return c
    } catch (err) {
      setError(toActionError(err))
      setChallenge(null)
      return null
    } finally {
      setPhase('ready')
    }
  }, [client, action])

  const asked = useRef(false)
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal()
    // Once per dialog: StrictMode's second effect run must not spend a second challenge.
    if (asked.current) return
    asked.current = true
    void ask()
  }, [ask])

  const confirm = async () => {
    setError(null)
    let c = challenge
    if (!c || Date.parse(c.expires_at) <= Date.now()) c = await ask()
    if (!c) return
    setPhase('running')
    try {
      await run({ challenge_id: c.challenge_id, token: c.token })
      ref.current?.close()
      onClose(true)
    } catch (err) {
      setError(toActionError(err))
      // Spent or not, a refused attempt's challenge is not reused.
      setChallenge(null)
      setPhase('ready')
    }
  }

  const matches = typed.trim() === confirmText.trim()
  return (
    <dialog ref={ref} aria-labelledby={titleId} className="challenge" onCancel={() => onClose(false)}>
      <h2 id={titleId}>{title}</h2>
      <div>{description}</div>
      <ol className="steps">
        <li>
          <strong>Challenge.</strong>{' '}
          {phase === 'challenging' ? (
            <Progress label="Requesting a one-time challenge from the server…" />
          ) : challenge ? (
            <span>
              Challenge <code>{challenge.challenge_id}</code> issued for <code>{action}</code>, valid until{' '}
              <time dateTime={challenge.expires_at}>{new Date(challenge.expires_at).toLocaleTimeString()}</time>.
            </span>
          ) : (
            <span>A fresh challenge will be requested when you confirm.</span>
          )}
        </li>
        <li>
          <strong>Confirm.</strong>
          {children}
          <Field
            label={
              <>
                Type <code>{confirmText}</code> to confirm
              </>
            }
          >
            <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
          </Field>
        </li>
      </ol>
      <ErrorMessage error={error} />
      {phase === 'running' ? <Progress label={`${confirmLabel}…`} /> : null}
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={!matches || phase !== 'ready'}
          onClick={() => void confirm()}
        >
          {confirmLabel}
        </button>
        <button
          type="button"
          onClick={() => {
            ref.current?.close()
            onClose(false)
          }}
        >
          Cancel
        </button>
      </div>
    </dialog>
  )
}
