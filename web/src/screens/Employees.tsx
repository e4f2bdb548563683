import { useMemo, useState } from 'react'
import { EmployeeCreateForm } from '../components/EmployeeCreateForm.tsx'
import { EmployeeEditForm } from '../components/EmployeeEditForm.tsx'
import { matches } from '../components/EmployeePicker.tsx'
import { PersonLine } from '../components/PersonLine.tsx'
import { ErrorMessage, Progress } from '../components/Status.tsx'
import { VirtualListbox } from '../components/VirtualListbox.tsx'
import { useOrg } from '../hooks/useOrg.tsx'
import { go } from '../hooks/useRoute.ts'
import { Field } from '../components/Field.tsx'

/** Employees and AI agents: the list on the left, a create or edit form on the right. */
export function Employees({ selected }: { selected: string | null }) {
  const org = useOrg()
  const [query, setQuery] = useState('')
  const [kind, setKind] = useState<'employee' | 'agent'>('employee')
  const shown = useMemo(
    () => org.employees.filter((e) => matches(e, query.trim())).sort((a, b) => a.name.localeCompare(b.name)),
    [org.employees, query],
  )
  const editing = selected ? org.employeeById.get(selected) : undefined

  return (
    <section aria-labelledby="emp-title" className="screen">
      <header className="screen-head">
        <h2 id="emp-title">Employees and agents</h2>
        <div className="toolbar">
          <button
            type="button"
            className={!editing && kind === 'employee' ? 'primary' : ''}
            onClick={() => (setKind('employee'), go('employees'))}
          >
            New employee
          </button>
          <button
            type="button"
            className={!editing && kind === 'agent' ? 'primary' : ''}
            onClick={() => (setKind('agent'), go('employees'))}
          >
            New AI agent
          </button>
        </div>
      </header>
      {!org.loaded && org.loading ? <Progress label="Loading employees…" /> : null}
      <ErrorMessage error={org.error} />
      <div className="split">
        <div className="list-pane">
          <Field label="Find an employee or agent">
            <input
              type="search"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              placeholder="name, id or skill"
            />
          </Field>
          <VirtualListbox
            label={`Employees and agents: ${shown.length.toLocaleString()} shown`}
            items={shown}
            keyOf={(e) => e.employee_id}
            render={(e) => <PersonLine employee={e} />}
            onActivate={(e) => go('employees', e.employee_id)}
            current={selected}
            height={520}
            empty="Nobody matches"
          />
        </div>
        <div className="form-pane">
          {selected && !editing && org.loaded && !org.loading ? (
            <ErrorMessage error={{ code: 404, message: `No employee ${selected} in the org chart` }} />
          ) : null}
          {editing ? (
            <EmployeeEditForm key={editing.employee_id} employee={editing} />
          ) : (
            <EmployeeCreateForm key={kind} agent={kind === 'agent'} onCreated={(id) => go('employees', id)} />
          )}
        </div>
      </div>
    </section>
  )
}
