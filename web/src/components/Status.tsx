import type { ReactNode } from 'react'
import type { ActionError } from '../hooks/useAction.ts'

/** A long operation in progress, announced politely to screen readers. */
export function Progress({ label, value, max }: { label: string; value?: number; max?: number }) {
  return (
    <div className="progress" role="status">
      {value === undefined ? (
        <span className="spinner" aria-hidden="true" />
      ) : (
        <progress value={value} max={max} aria-label={label} />
      )}
      <span>{label}</span>
    </div>
  )
}

/** A refusal exactly as the server worded it; the code alongside, for support. */
export function ErrorMessage({ error }: { error: ActionError | null }) {
  if (!error) return null
  return (
    <div className="error" role="alert">
      {error.code ? <span className="code">Error {error.code}</span> : null}
      <span className="message">{error.message}</span>
    </div>
  )
}

export function Done({ children }: { children: ReactNode }) {
  return (
    <p className="done" role="status">
      {children}
    </p>
  )
}
