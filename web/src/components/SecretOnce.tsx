import { useId } from 'react'
import { CopyButton } from './CopyButton.tsx'

export interface Secret {
  label: string
  value: string
}

/**
 * Credentials the server hands out once (an mqtt_connection, a webhook secret). The console
 * keeps no copy: once dismissed, only a new credential can replace them.
 */
export function SecretOnce({ title, secrets, onDone }: { title: string; secrets: Secret[]; onDone(): void }) {
  const id = useId()
  return (
    <section className="secret" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      <p>
        <strong>Shown once.</strong> Copy these now and hand them to their owner: this console does not keep them.
      </p>
      {secrets.map((s) => (
        <div key={s.label} className="secret-item">
          <div className="secret-head">
            <span>{s.label}</span>
            <CopyButton text={s.value} label={`Copy ${s.label}`} />
          </div>
          <pre aria-label={s.label} tabIndex={0}>
            {s.value}
          </pre>
        </div>
      ))}
      <button type="button" onClick={onDone}>
        Done — I have copied them
      </button>
    </section>
  )
}
