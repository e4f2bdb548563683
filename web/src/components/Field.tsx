import { cloneElement, useId, type ReactElement, type ReactNode } from 'react'

interface Props {
  label: ReactNode
  /** Said after the label, and announced as the control's description. */
  hint?: ReactNode
  inline?: boolean
  children: ReactElement<{ id?: string; 'aria-describedby'?: string | undefined }>
}

/**
 * A label tied to its control by id rather than by nesting: a nested control's value would
 * become part of its own accessible name ("Department — no department —").
 */
export function Field({ label, hint, inline, children }: Props) {
  const id = useId()
  const hintId = hint ? `${id}-hint` : undefined
  return (
    <div className={`field${inline ? ' inline' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <small id={hintId} className="field-hint">
          {hint}
        </small>
      ) : null}
      {cloneElement(children, { id, 'aria-describedby': hintId })}
    </div>
  )
}
