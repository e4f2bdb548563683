import { usePresence } from '../hooks/usePresence.tsx'

export function PresenceDot({ employeeId }: { employeeId: string }) {
  const status = usePresence(employeeId)
  return <span className={`dot dot-${status}`} role="img" aria-label={status} title={status} />
}

export function Chips({
  items,
  kind,
  label,
}: {
  items: readonly string[]
  kind: 'badge' | 'capability'
  label: string
}) {
  if (items.length === 0) return null
  return (
    <ul className={`chips chips-${kind}`} aria-label={label}>
      {items.map((s) => (
        <li key={s}>{s}</li>
      ))}
    </ul>
  )
}
