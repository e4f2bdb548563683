import { useMemo, useState, type KeyboardEvent } from 'react'
import { matches } from '../components/EmployeePicker.tsx'
import { PersonLine } from '../components/PersonLine.tsx'
import { Chips, PresenceDot } from '../components/Presence.tsx'
import { ErrorMessage, Progress } from '../components/Status.tsx'
import { useOrg, type Department, type Employee, type Org } from '../hooks/useOrg.tsx'
import { useOnlineCount } from '../hooks/usePresence.tsx'
import { hrefOf } from '../hooks/useRoute.ts'
import { useVirtualNav } from '../hooks/useVirtualNav.ts'
import { Field } from '../components/Field.tsx'
import { count } from '../lib/format.ts'

const ROW = 44
const NO_DEPARTMENT = '' // employees outside every department hang under a pseudo-department

type Row =
  | {
      kind: 'department'
      key: string
      id: string
      name: string
      depth: number
      people: number
      expanded: boolean
      parent: number
    }
  | { kind: 'person'; key: string; employee: Employee; depth: number; parent: number }

function push<T>(m: Map<string, T[]>, key: string, value: T): void {
  const list = m.get(key)
  if (list) list.push(value)
  else m.set(key, [value])
}

function buildRows(org: Org, collapsed: ReadonlySet<string>, query: string): Row[] {
  const members = new Map<string, Employee[]>()
  for (const e of org.employees) {
    const d = e.department_id && org.departmentById.has(e.department_id) ? e.department_id : NO_DEPARTMENT
    push(members, d, e)
  }
  for (const list of members.values()) list.sort((a, b) => a.name.localeCompare(b.name))

  const children = new Map<string, Department[]>()
  for (const d of org.departmentOrder) {
    const p = d.parent_id && org.departmentById.has(d.parent_id) ? d.parent_id : NO_DEPARTMENT
    push(children, p, d)
  }
  // People per subtree (after the filter): a filtered tree shows only branches with a match.
  const count = new Map<string, number>()
  const countOf = (id: string): number => {
    let n = (members.get(id) ?? []).filter((e) => matches(e, query)).length
    for (const c of children.get(id) ?? []) n += countOf(c.department_id)
    count.set(id, n)
    return n
  }
  for (const d of children.get(NO_DEPARTMENT) ?? []) countOf(d.department_id)

  const rows: Row[] = []
  const walk = (d: Department, depth: number, parent: number) => {
    const people = count.get(d.department_id) ?? 0
    if (query && people === 0) return
    const expanded = query ? true : !collapsed.has(d.department_id)
    const at = rows.length
    rows.push({
      kind: 'department',
      key: `d:${d.department_id}`,
      id: d.department_id,
      name: d.name,
      depth,
      people,
      expanded,
      parent,
    })
    if (!expanded) return
    for (const c of children.get(d.department_id) ?? []) walk(c, depth + 1, at)
    for (const e of members.get(d.department_id) ?? [])
      if (matches(e, query))
        rows.push({ kind: 'person', key: `p:${e.employee_id}`, employee: e, depth: depth + 1, parent: at })
  }
  for (const d of children.get(NO_DEPARTMENT) ?? []) walk(d, 0, -1)
  const loose = (members.get(NO_DEPARTMENT) ?? []).filter((e) => matches(e, query))
  if (loose.length > 0) {
    const expanded = query ? true : !collapsed.has(NO_DEPARTMENT)
    const at = rows.length
    rows.push({
      kind: 'department',
      key: 'd:',
      id: NO_DEPARTMENT,
      name: 'No department',
      depth: 0,
      people: loose.length,
      expanded,
      parent: -1,
    })
    if (expanded)
      for (const e of loose) rows.push({ kind: 'person', key: `p:${e.employee_id}`, employee: e, depth: 1, parent: at })
  }
  return rows
}

function Details({ employee: e, org }: { employee: Employee; org: Org }) {
  const manager = e.manager_id ? org.employeeById.get(e.manager_id) : undefined
  const dept = e.department_id ? org.departmentById.get(e.department_id) : undefined
  return (
    <aside className="details" aria-label={`About ${e.name}`}>
      <h3>
        <PresenceDot employeeId={e.employee_id} /> {e.name}
      </h3>
      <dl>
        <dt>Employee id</dt>
        <dd>
          <code>{e.employee_id}</code>
        </dd>
        <dt>Kind</dt>
        <dd>{e.is_ai_agent ? 'AI agent' : 'Person'}</dd>
        <dt>Department</dt>
        <dd>{dept?.name ?? '—'}</dd>
        <dt>Manager</dt>
        <dd>{manager ? `${manager.name} (${manager.employee_id})` : (e.manager_id ?? '—')}</dd>
        <dt>Status</dt>
        <dd>{e.status}</dd>
      </dl>
      <Chips items={e.skills_badge} kind="badge" label="Skills badges" />
      {e.is_ai_agent ? (
        <Chips items={org.capabilities.get(e.employee_id) ?? []} kind="capability" label="Capabilities" />
      ) : null}
      <p>
        <a href={hrefOf('employees', e.employee_id)}>Edit {e.name}</a>
      </p>
    </aside>
  )
}

export function OrgChart() {
  const org = useOrg()
  const online = useOnlineCount()
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set())
  const [query, setQuery] = useState('')
  const [chosen, setChosen] = useState<string | null>(null)
  const q = query.trim()
  const rows = useMemo(() => buildRows(org, collapsed, q), [org, collapsed, q])
  const { parentRef, virtualizer, active, moveTo, onNavKey } = useVirtualNav(rows.length, ROW)
  const agents = org.employees.filter((e) => e.is_ai_agent).length

  const toggle = (id: string, open?: boolean) =>
    setCollapsed((prev) => {
      const next = new Set(prev)
      const isOpen = !next.has(id)
      if (open ?? !isOpen) next.delete(id)
      else next.add(id)
      return next
    })

  const activate = (row: Row) => (row.kind === 'department' ? toggle(row.id) : setChosen(row.employee.employee_id))

  const onKeyDown = (e: KeyboardEvent) => {
    if (onNavKey(e)) return
    const row = rows[active]
    if (!row) return
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      activate(row)
    } else if (e.key === 'ArrowRight' && row.kind === 'department') {
      e.preventDefault()
      if (!row.expanded) toggle(row.id, true)
      else moveTo(active + 1)
    } else if (e.key === 'ArrowLeft') {
      e.preventDefault()
      if (row.kind === 'department' && row.expanded && !q) toggle(row.id, false)
      else if (row.parent >= 0) moveTo(row.parent)
    }
  }

  const chosenEmployee = chosen ? org.employeeById.get(chosen) : undefined
  return (
    <section aria-labelledby="org-title" className="screen">
      <header className="screen-head">
        <h2 id="org-title">Org chart</h2>
        <p className="summary">
          {count(org.employees.length, 'person', 'people')} ({count(agents, 'AI agent')}) in{' '}
          {count(org.departments.length, 'department')} · {online.toLocaleString()} online
        </p>
      </header>
      {!org.loaded && org.loading ? <Progress label="Loading the org chart…" /> : null}
      <ErrorMessage error={org.error} />
      <div className="toolbar">
        <Field label="Filter people" inline>
          <input
            type="search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder="name, id or skill"
          />
        </Field>
        <button type="button" onClick={() => setCollapsed(new Set())}>
          Expand all
        </button>
        <button
          type="button"
          onClick={() => setCollapsed(new Set([NO_DEPARTMENT, ...org.departments.map((d) => d.department_id)]))}
        >
          Collapse all
        </button>
        <button type="button" onClick={() => void org.refresh()} disabled={org.loading}>
          {org.loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <p className="hint" id="org-keys">
        Arrow keys move, Right and Left open and close a department, Enter shows a person.
      </p>
      <div className="split">
        <div
          ref={parentRef}
          className="vlist tree"
          style={{ height: 560 }}
          role="tree"
          aria-label="Organisation"
          aria-describedby="org-keys"
          aria-activedescendant={active >= 0 ? `org-row-${active}` : undefined}
          tabIndex={0}
          onKeyDown={onKeyDown}
        >
          {rows.length === 0 && org.loaded ? <div className="vlist-empty">Nobody matches</div> : null}
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const row = rows[v.index]!
              const style = {
                position: 'absolute' as const,
                top: 0,
                left: 0,
                right: 0,
                height: ROW,
                transform: `translateY(${v.start}px)`,
                paddingLeft: 12 + row.depth * 20,
              }
              const common = {
                id: `org-row-${v.index}`,
                role: 'treeitem',
                'aria-level': row.depth + 1,
                style,
                onClick: () => (moveTo(v.index), activate(row)),
              }
              const cls = `vrow${v.index === active ? ' active' : ''}`
              return row.kind === 'department' ? (
                <div
                  key={row.key}
                  {...common}
                  aria-expanded={row.expanded}
                  aria-selected={false}
                  className={`${cls} dept`}
                >
                  <span className="caret" aria-hidden="true">
                    {row.expanded ? '▾' : '▸'}
                  </span>
                  <span className="name">{row.name}</span>
                  <span className="count">{count(row.people, 'person', 'people')}</span>
                </div>
              ) : (
                <div
                  key={row.key}
                  {...common}
                  aria-selected={chosen === row.employee.employee_id}
                  className={`${cls}${chosen === row.employee.employee_id ? ' selected' : ''}`}
                >
                  <PersonLine
                    employee={row.employee}
                    {...(row.employee.is_ai_agent
                      ? { capabilities: org.capabilities.get(row.employee.employee_id) ?? [] }
                      : {})}
                  />
                </div>
              )
            })}
          </div>
        </div>
        {chosenEmployee ? (
          <Details employee={chosenEmployee} org={org} />
        ) : (
          <p className="details hint">Choose a person to see their details.</p>
        )}
      </div>
    </section>
  )
}
