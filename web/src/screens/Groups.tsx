import { useState, type FormEvent } from 'react'
import { CreateGroup } from '../components/CreateGroup.tsx'
import { GroupManager } from '../components/GroupManager.tsx'
import { Done, ErrorMessage, Progress } from '../components/Status.tsx'
import { useGroups } from '../hooks/useGroups.ts'
import { Field } from '../components/Field.tsx'
import { count } from '../lib/format.ts'

export function Groups() {
  const { groups, loading, error, refresh } = useGroups()
  const [selected, setSelected] = useState<{ group_id: string; name: string } | null>(null)
  const [byId, setById] = useState('')
  const [notice, setNotice] = useState<string | null>(null)
  const current = selected ? (groups.find((g) => g.group_id === selected.group_id) ?? selected) : null

  const open = (e: FormEvent) => {
    e.preventDefault()
    const id = byId.trim()
    if (id) setSelected(groups.find((g) => g.group_id === id) ?? { group_id: id, name: id })
  }

  return (
    <section aria-labelledby="groups-title" className="screen">
      <header className="screen-head">
        <h2 id="groups-title">Groups</h2>
        <p className="summary">{count(groups.length, 'group')} you belong to</p>
      </header>
      {notice ? <Done>{notice}</Done> : null}
      <div className="split">
        <div className="list-pane">
          <table className="table">
            <caption>Your groups</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">Your role</th>
                <th scope="col">Members</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.group_id} className={current?.group_id === g.group_id ? 'selected' : ''}>
                  <th scope="row">{g.name}</th>
                  <td>
                    <code>{g.group_id}</code>
                  </td>
                  <td>{g.role}</td>
                  <td>{g.member_count}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() => (setNotice(null), setSelected(g))}
                      aria-label={`Manage ${g.name}`}
                    >
                      Manage
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {loading ? <Progress label="Loading groups…" /> : null}
          <ErrorMessage error={error} />
          <form onSubmit={open} className="inline-form" aria-label="Open a group by id">
            <Field label="Manage another group by id" inline>
              <input value={byId} onChange={(e) => setById(e.target.value)} autoComplete="off" />
            </Field>
            <button type="submit">Open</button>
          </form>
          <CreateGroup onCreated={() => void refresh()} />
        </div>
        <div className="form-pane">
          {current ? (
            <GroupManager
              key={current.group_id}
              group={current}
              onChanged={() => void refresh()}
              onDismissed={(summary) => {
                setNotice(summary)
                setSelected(null)
                void refresh()
              }}
            />
          ) : (
            <p className="hint">Choose a group to add or remove members, or to dismiss it.</p>
          )}
        </div>
      </div>
    </section>
  )
}
