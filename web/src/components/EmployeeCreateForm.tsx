import { useId, useMemo, useState, type FormEvent } from 'react'
import { useAction } from '../hooks/useAction.ts'
import { useOrg } from '../hooks/useOrg.tsx'
import { extraFields, objectShape, splitList, toValue, type RawValue } from '../lib/contract-fields.ts'
import { employeeCreate, type ReplyOf, type RequestInputOf } from '../lib/mchat.ts'
import { ContractFields } from './ContractFields.tsx'
import { DepartmentSelect } from './DepartmentSelect.tsx'
import { SecretOnce, type Secret } from './SecretOnce.tsx'
import { ErrorMessage, Progress } from './Status.tsx'
import { Field } from './Field.tsx'

// Laid out by hand below; anything else the contract gains is rendered from the contract.
const KNOWN = [
  'employee_id',
  'name',
  'is_ai_agent',
  'department_id',
  'manager_id',
  'role',
  'skills_badge',
  'agent_profile',
]

/** Every secret-looking string in a reply (a webhook secret), wherever the contract puts it. */
function secretsIn(value: unknown, path: string[] = []): Secret[] {
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    typeof v === 'string' && /secret/i.test(k)
      ? [{ label: [...path, k].join('.').replace(/_/g, ' '), value: v }]
      : k === 'mqtt_connection'
        ? []
        : secretsIn(v, [...path, k]),
  )
}

function secretsOf(reply: ReplyOf<'employee.create'>): Secret[] {
  return [{ label: 'mqtt_connection', value: JSON.stringify(reply.mqtt_connection, null, 2) }, ...secretsIn(reply)]
}

export function EmployeeCreateForm({ agent, onCreated }: { agent: boolean; onCreated(id: string): void }) {
  const org = useOrg()
  const create = useAction('employee.create')
  const listId = useId()
  const [name, setName] = useState('')
  const [employeeId, setEmployeeId] = useState('')
  const [department, setDepartment] = useState('')
  const [manager, setManager] = useState('')
  const [role, setRole] = useState<'member' | 'admin'>('member')
  const [badges, setBadges] = useState('')
  const [profile, setProfile] = useState<Record<string, RawValue>>({})
  const [extra, setExtra] = useState<Record<string, RawValue>>({})
  const [created, setCreated] = useState<ReplyOf<'employee.create'> | null>(null)

  const request = objectShape(employeeCreate.request)
  const profileFields = useMemo(() => (request?.agent_profile ? extraFields(request.agent_profile, []) : []), [request])
  const otherFields = useMemo(() => extraFields(employeeCreate.request, KNOWN), [])

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const payload: Record<string, unknown> = { name, is_ai_agent: agent, role, skills_badge: splitList(badges) }
    if (employeeId.trim()) payload.employee_id = employeeId.trim()
    if (department) payload.department_id = department
    if (manager.trim()) payload.manager_id = manager.trim()
    for (const f of otherFields) {
      const v = toValue(f, extra[f.key])
      if (v !== undefined) payload[f.key] = v
    }
    if (agent) {
      const p: Record<string, unknown> = {}
      for (const f of profileFields) {
        const v = toValue(f, profile[f.key])
        if (v !== undefined) p[f.key] = v
      }
      payload.agent_profile = p
    }
    // The server validates and names the field it refuses; the form does not second-guess it.
    const reply = await create.run(payload as RequestInputOf<'employee.create'>)
    if (!reply) return
    setCreated(reply)
    setName('')
    setEmployeeId('')
    setBadges('')
    setProfile({})
    setExtra({})
    void org.refresh()
  }

  if (created)
    return (
      <SecretOnce
        title={`${agent ? 'AI agent' : 'Employee'} ${created.name} (${created.employee_id}) created — credentials`}
        secrets={secretsOf(created)}
        onDone={() => {
          const id = created.employee_id
          setCreated(null)
          onCreated(id)
        }}
      />
    )

  const kind = agent ? 'AI agent' : 'employee'
  return (
    <form onSubmit={(e) => void submit(e)} aria-label={`New ${kind}`} className="form">
      <h3>New {kind}</h3>
      <Field label="Name (required)">
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
      </Field>
      <Field label="Employee ID" hint="optional; letters, digits, _ and -. Left empty, the server picks one">
        <input value={employeeId} onChange={(e) => setEmployeeId(e.target.value)} maxLength={64} autoComplete="off" />
      </Field>
      <DepartmentSelect label="Department" value={department} onChange={setDepartment} noneLabel="— no department —" />
      <Field label="Manager" hint="an employee id">
        <input value={manager} onChange={(e) => setManager(e.target.value)} list={listId} autoComplete="off" />
      </Field>
      <datalist id={listId}>
        {org.employees.map((m) => (
          <option key={m.employee_id} value={m.employee_id}>
            {m.name}
          </option>
        ))}
      </datalist>
      <Field label="Role">
        <select value={role} onChange={(e) => setRole(e.target.value as 'member' | 'admin')}>
          <option value="member">member</option>
          <option value="admin">admin (org administrator)</option>
        </select>
      </Field>
      <Field label="Skills badges" hint="comma-separated">
        <input value={badges} onChange={(e) => setBadges(e.target.value)} />
      </Field>
      {agent ? (
        <fieldset>
          <legend>Agent profile</legend>
          <ContractFields
            fields={profileFields}
            values={profile}
            onChange={(k, v) => setProfile((p) => ({ ...p, [k]: v }))}
          />
        </fieldset>
      ) : null}
      {otherFields.length > 0 ? (
        <fieldset>
          <legend>More</legend>
          <ContractFields
            fields={otherFields}
            values={extra}
            onChange={(k, v) => setExtra((p) => ({ ...p, [k]: v }))}
          />
        </fieldset>
      ) : null}
      <ErrorMessage error={create.error} />
      {create.pending ? <Progress label={`Creating ${kind}…`} /> : null}
      <button type="submit" className="primary" disabled={create.pending}>
        Create {kind}
      </button>
    </form>
  )
}
