import { useMemo, useState } from 'react'
import { useAction } from '../hooks/useAction.ts'
import { useGroupMembers } from '../hooks/useGroupMembers.ts'
import type { GroupSummary } from '../hooks/useGroups.ts'
import { useOrg } from '../hooks/useOrg.tsx'
import { useClient } from '../hooks/useSession.tsx'
import { ChallengeDialog } from './ChallengeDialog.tsx'
import { EmployeePicker } from './EmployeePicker.tsx'
import { Done, ErrorMessage, Progress } from './Status.tsx'

interface Props {
  group: Pick<GroupSummary, 'group_id' | 'name'> & Partial<GroupSummary>
  onChanged(): void
  onDismissed(summary: string): void
}

/** Adds and removes members of one group, or dismisses it through the challenge step. */
export function GroupManager({ group: g, onChanged, onDismissed }: Props) {
  const org = useOrg()
  const list = useGroupMembers(g.group_id)
  const members = useMemo(
    () => (list.members ? new Set(list.members.map((m) => m.employee_id)) : undefined),
    [list.members],
  )
  const client = useClient()
  const add = useAction('group.member_add')
  const remove = useAction('group.member_remove')
  const [toAdd, setToAdd] = useState<Set<string>>(new Set())
  const [toRemove, setToRemove] = useState<Set<string>>(new Set())
  const [done, setDone] = useState<string | null>(null)
  const [dismissing, setDismissing] = useState(false)
  const active = useMemo(
    () => org.employees.filter((e) => e.status === 'active' && !members?.has(e.employee_id)),
    [org.employees, members],
  )
  // Until the list has loaded (or if it cannot be), anyone may be picked; the reply says who was removed.
  const removable = useMemo(
    () =>
      org.employees.filter((e) => (members ? members.has(e.employee_id) : true) && e.employee_id !== client.employeeId),
    [org.employees, members, client.employeeId],
  )

  return (
    <section className="form" aria-label={`Manage group ${g.name}`}>
      <h3>
        {g.name} <code>{g.group_id}</code>
      </h3>
      <p className="summary">
        {list.members
          ? `${list.members.length} members`
          : g.member_count !== undefined
            ? `${g.member_count} members`
            : 'Member count unknown'}
        {g.role ? ` · you are ${g.role}` : ''}
      </p>
      {done ? <Done>{done}</Done> : null}
      <ErrorMessage error={list.error} />
      {list.members ? (
        <ul className="members" aria-label="Members">
          {list.members.map((m) => (
            <li key={m.employee_id}>
              {m.name} <code>{m.employee_id}</code> · {m.role}
              {m.is_ai_agent ? ' · AI' : ''} · joined {new Date(m.joined_at).toLocaleDateString()}
            </li>
          ))}
        </ul>
      ) : null}
      <EmployeePicker label="Members to add" employees={active} selected={toAdd} onChange={setToAdd} />
      <ErrorMessage error={add.error} />
      {add.pending ? <Progress label={`Adding ${toAdd.size} members…`} /> : null}
      <button
        type="button"
        disabled={add.pending || toAdd.size === 0}
        onClick={async () => {
          const r = await add.run({ group_id: g.group_id, member_ids: [...toAdd] })
          if (!r) return
          void list.reload()
          setToAdd(new Set())
          setDone(`Added ${r.added_ids.length}; ${r.current_member_count} members now`)
          onChanged()
        }}
      >
        Add members
      </button>
      <EmployeePicker label="Members to remove" employees={removable} selected={toRemove} onChange={setToRemove} />
      <ErrorMessage error={remove.error} />
      {remove.pending ? <Progress label={`Removing ${toRemove.size} members…`} /> : null}
      <button
        type="button"
        disabled={remove.pending || toRemove.size === 0}
        onClick={async () => {
          const r = await remove.run({ group_id: g.group_id, member_ids: [...toRemove] })
          if (!r) return
          void list.reload()
          setToRemove(new Set())
          setDone(`Removed ${r.removed_ids.length}; ${r.current_member_count} members now`)
          onChanged()
        }}
      >
        Remove members
      </button>
      <div className="danger-zone">
        <button type="button" className="danger" onClick={() => setDismissing(true)}>
          Dismiss group
        </button>
      </div>
      {dismissing ? (
        <ChallengeDialog
          action="group.dismiss"
          title={`Dismiss group “${g.name}”`}
          description={
            <p>Every member is told the group is dismissed; nobody can send to it any more. This cannot be undone.</p>
          }
          confirmText={g.name}
          confirmLabel="Dismiss group"
          run={async (c) => {
            const r = await client.request('group.dismiss', { group_id: g.group_id, ...c })
            onDismissed(`Dismissed ${g.name} (${r.group_id}) at ${new Date(r.dismissed_at).toLocaleTimeString()}`)
          }}
          onClose={() => setDismissing(false)}
        />
      ) : null}
    </section>
  )
}
