import { useMemo, useState, type FormEvent } from 'react'
import { useAction } from '../hooks/useAction.ts'
import { useOrg } from '../hooks/useOrg.tsx'
import { useClient } from '../hooks/useSession.tsx'
import type { ReplyOf } from '../lib/mchat.ts'
import { EmployeePicker } from './EmployeePicker.tsx'
import { Done, ErrorMessage, Progress } from './Status.tsx'
import { Field } from './Field.tsx'

export function CreateGroup({ onCreated }: { onCreated(g: ReplyOf<'group.create'>): void }) {
  const org = useOrg()
  const client = useClient()
  const create = useAction('group.create')
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const [picked, setPicked] = useState<Set<string>>(new Set())
  const [done, setDone] = useState<string | null>(null)
  // Members must be active; the admin becomes the owner and is added by the server.
  const candidates = useMemo(
    () => org.employees.filter((e) => e.status === 'active' && e.employee_id !== client.employeeId),
    [org.employees, client.employeeId],
  )

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const reply = await create.run({
      name,
      member_ids: [...picked],
      ...(description.trim() ? { opts: { description: description.trim() } } : {}),
    })
    if (!reply) return
    setDone(`Created ${reply.name} (${reply.group_id}) with ${reply.member_ids.length} members`)
    setName('')
    setDescription('')
    setPicked(new Set())
    onCreated(reply)
  }

  return (
    <form onSubmit={(e) => void submit(e)} aria-label="New group" className="form">
      <h3>New group</h3>
      <Field label="Group name">
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
      </Field>
      <Field label="Description" hint="optional">
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={512} />
      </Field>
      <EmployeePicker label="Members" employees={candidates} selected={picked} onChange={setPicked} />
      <ErrorMessage error={create.error} />
      {create.pending ? <Progress label={`Creating group with ${picked.size} members…`} /> : null}
      {done ? <Done>{done}</Done> : null}
      <button type="submit" className="primary" disabled={create.pending || picked.size === 0}>
        Create group
      </button>
    </form>
  )
}
