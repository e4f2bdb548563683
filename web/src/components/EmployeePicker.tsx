import { useMemo, useState } from 'react'
import type { Employee } from '../hooks/useOrg.tsx'
import { Chips } from './Presence.tsx'
import { PersonLine } from './PersonLine.tsx'
import { VirtualListbox } from './VirtualListbox.tsx'
import { Field } from './Field.tsx'

// A group of hundreds is picked by filter and tick; listing every chosen id would bury the form.
const SHOWN_CHIPS = 12

export function matches(e: Employee, q: string): boolean {
  if (!q) return true
  const s = q.toLowerCase()
  return (
    e.name.toLowerCase().includes(s) ||
    e.employee_id.toLowerCase().includes(s) ||
    e.skills_badge.some((b) => b.toLowerCase().includes(s))
  )
}

interface Props {
  label: string
  employees: readonly Employee[]
  selected: ReadonlySet<string>
  onChange(next: Set<string>): void
}

/** Chooses any number of people (humans and agents) out of thousands: filter, then toggle. */
export function EmployeePicker({ label, employees, selected, onChange }: Props) {
  const [query, setQuery] = useState('')
  const shown = useMemo(() => employees.filter((e) => matches(e, query.trim())), [employees, query])
  const toggle = (id: string) => {
    const next = new Set(selected)
    if (!next.delete(id)) next.add(id)
    onChange(next)
  }
  return (
    <fieldset className="picker">
      <legend>{label}</legend>
      <Field label="Find people">
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="name, id or skill" />
      </Field>
      <VirtualListbox
        label={`${label}: ${shown.length} shown`}
        items={shown}
        keyOf={(e) => e.employee_id}
        render={(e) => <PersonLine employee={e} />}
        selected={selected}
        onToggle={(e) => toggle(e.employee_id)}
        height={240}
        empty="Nobody matches"
      />
      <p className="hint" aria-live="polite">
        {selected.size} selected{selected.size > SHOWN_CHIPS ? ` (the first ${SHOWN_CHIPS} below)` : ''}
      </p>
      {selected.size > 0 ? <Chips items={[...selected].slice(0, SHOWN_CHIPS)} kind="badge" label="Selected" /> : null}
    </fieldset>
  )
}
