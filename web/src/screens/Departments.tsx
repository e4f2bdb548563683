import { useMemo, useState, type FormEvent } from 'react'
import { ChallengeDialog } from '../components/ChallengeDialog.tsx'
import { DepartmentSelect } from '../components/DepartmentSelect.tsx'
import { Done, ErrorMessage, Progress } from '../components/Status.tsx'
import { useAction } from '../hooks/useAction.ts'
import { useOrg, type Department, type Org } from '../hooks/useOrg.tsx'
import { useClient } from '../hooks/useSession.tsx'
import { Field } from '../components/Field.tsx'
import { count } from '../lib/format.ts'

const KEEP = '\u0000keep' // send no reassign_to: the server refuses to delete a non-empty department

function subtreeOf(org: Org, id: string): Set<string> {
  const out = new Set([id])
  for (const d of org.departmentOrder) if (d.parent_id && out.has(d.parent_id)) out.add(d.department_id)
  return out
}

function CreateDepartment() {
  const org = useOrg()
  const create = useAction('department.create')
  const [name, setName] = useState('')
  const [id, setId] = useState('')
  const [parent, setParent] = useState('')
  const [order, setOrder] = useState('0')
  const [done, setDone] = useState<string | null>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const reply = await create.run({
      name,
      parent_id: parent || null,
      sort_order: Number(order) || 0,
      ...(id.trim() ? { department_id: id.trim() } : {}),
    })
    if (!reply) return
    setDone(`Created ${reply.name} (${reply.department_id})`)
    setName('')
    setId('')
    void org.refresh()
  }
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="New department" className="form">
      <h3>New department</h3>
      <Field label="Department name">
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
      </Field>
      <Field label="Department ID" hint="optional">
        <input value={id} onChange={(e) => setId(e.target.value)} maxLength={64} autoComplete="off" />
      </Field>
      <DepartmentSelect label="Parent department" value={parent} onChange={setParent} noneLabel="— top level —" />
      <Field label="Sort order">
        <input type="number" value={order} onChange={(e) => setOrder(e.target.value)} />
      </Field>
      <ErrorMessage error={create.error} />
      {create.pending ? <Progress label="Creating department…" /> : null}
      {done ? <Done>{done}</Done> : null}
      <button type="submit" className="primary" disabled={create.pending}>
        Create department
      </button>
    </form>
  )
}

function EditDepartment({ department: d, onClose }: { department: Department; onClose(): void }) {
  const org = useOrg()
  const update = useAction('department.update')
  const [name, setName] = useState(d.name)
  const [parent, setParent] = useState(d.parent_id ?? '')
  const [order, setOrder] = useState(String(d.sort_order))
  const exclude = useMemo(() => subtreeOf(org, d.department_id), [org, d.department_id])
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const updates: { name?: string; parent_id?: string | null; sort_order?: number } = {}
    if (name.trim() !== d.name) updates.name = name.trim()
    if ((parent || null) !== d.parent_id) updates.parent_id = parent || null
    if (Number(order) !== d.sort_order) updates.sort_order = Number(order)
    const reply = await update.run({ department_id: d.department_id, updates })
    if (!reply) return
    await org.refresh()
    onClose()
  }
  return (
    <form onSubmit={(e) => void submit(e)} aria-label={`Edit department ${d.name}`} className="form">
      <h3>
        Rename or move <code>{d.department_id}</code>
      </h3>
      <Field label="New name">
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
      </Field>
      <DepartmentSelect
        label="Move under"
        value={parent}
        onChange={setParent}
        noneLabel="— top level —"
        exclude={exclude}
      />
      <Field label="Sort order">
        <input type="number" value={order} onChange={(e) => setOrder(e.target.value)} />
      </Field>
      <ErrorMessage error={update.error} />
      {update.pending ? <Progress label="Saving department…" /> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={update.pending}>
          Save department
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  )
}

function DeleteDepartment({
  department: d,
  onClose,
  onDeleted,
}: {
  department: Department
  onClose(): void
  onDeleted(summary: string): void
}) {
  const org = useOrg()
  const client = useClient()
  const [reassign, setReassign] = useState(KEEP)
  const exclude = useMemo(() => subtreeOf(org, d.department_id), [org, d.department_id])
  const people = org.employees.filter((e) => e.department_id === d.department_id).length
  const subs = org.departments.filter((x) => x.parent_id === d.department_id).length
  return (
    <ChallengeDialog
      action="department.delete"
      title={`Delete department “${d.name}”`}
      description={
        <p>
          {d.name} has {subs} sub-department{subs === 1 ? '' : 's'} and {people} {people === 1 ? 'person' : 'people'}. A
          department that is not empty is deleted only when you say where they go.
        </p>
      }
      confirmText={d.name}
      confirmLabel="Delete department"
      run={async (c) => {
        const r = await client.request('department.delete', {
          department_id: d.department_id,
          ...(reassign === KEEP ? {} : { reassign_to: reassign || null }),
          ...c,
        })
        onDeleted(`Deleted ${d.name}; moved ${r.moved_departments} departments and ${r.moved_employees} people`)
        void org.refresh()
      }}
      onClose={onClose}
    >
      <DepartmentSelect
        label="Move its sub-departments and people to"
        value={reassign}
        onChange={setReassign}
        noneLabel="the top level (no department)"
        exclude={exclude}
        extra={[{ value: KEEP, label: '— nowhere: delete only if empty —' }]}
      />
    </ChallengeDialog>
  )
}

export function Departments() {
  const org = useOrg()
  const [editing, setEditing] = useState<string | null>(null)
  const [deleting, setDeleting] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const counts = useMemo(() => {
    const m = new Map<string, number>()
    for (const e of org.employees) if (e.department_id) m.set(e.department_id, (m.get(e.department_id) ?? 0) + 1)
    return m
  }, [org.employees])
  const editDept = editing ? org.departmentById.get(editing) : undefined
  const deleteDept = deleting ? org.departmentById.get(deleting) : undefined

  return (
    <section aria-labelledby="dept-title" className="screen">
      <header className="screen-head">
        <h2 id="dept-title">Departments</h2>
        <p className="summary">{count(org.departments.length, 'department')}</p>
      </header>
      {!org.loaded && org.loading ? <Progress label="Loading departments…" /> : null}
      <ErrorMessage error={org.error} />
      {notice ? <Done>{notice}</Done> : null}
      <div className="split">
        <div className="list-pane">
          <table className="table">
            <caption className="sr-only">Departments in tree order</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">People</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {org.departmentOrder.map((d) => (
                <tr key={d.department_id}>
                  <th scope="row" style={{ paddingLeft: 8 + (org.departmentDepth.get(d.department_id) ?? 0) * 20 }}>
                    {d.name}
                  </th>
                  <td>
                    <code>{d.department_id}</code>
                  </td>
                  <td>{(counts.get(d.department_id) ?? 0).toLocaleString()}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      onClick={() => setEditing(d.department_id)}
                      aria-label={`Rename or move ${d.name}`}
                    >
                      Rename / move
                    </button>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => (setNotice(null), setDeleting(d.department_id))}
                      aria-label={`Delete ${d.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {org.loaded && org.departments.length === 0 ? <p className="hint">No departments yet.</p> : null}
        </div>
        <div className="form-pane">
          {editDept ? (
            <EditDepartment key={editDept.department_id} department={editDept} onClose={() => setEditing(null)} />
          ) : (
            <CreateDepartment />
          )}
        </div>
      </div>
      {deleteDept ? (
        <DeleteDepartment
          key={deleteDept.department_id}
          department={deleteDept}
          onClose={() => setDeleting(null)}
          onDeleted={setNotice}
        />
      ) : null}
    </section>
  )
}
