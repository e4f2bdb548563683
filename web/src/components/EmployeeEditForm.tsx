import { useMemo, useState, type FormEvent } from 'react'
import { toActionError, type ActionError } from '../hooks/useAction.ts'
import { useOrg, type Employee } from '../hooks/useOrg.tsx'
import { useClient } from '../hooks/useSession.tsx'
import { extraFields, objectShape, splitList, toValue, type RawValue } from '../lib/contract-fields.ts'
import { employeeUpdates, SENSITIVE_EMPLOYEE_FIELDS, type ReplyOf, type RequestInputOf } from '../lib/mchat.ts'
import { ChallengeDialog, type ChallengePair } from './ChallengeDialog.tsx'
import { ContractFields } from './ContractFields.tsx'
import { DepartmentSelect } from './DepartmentSelect.tsx'
import { Field } from './Field.tsx'
import { Chips } from './Presence.tsx'
import { SecretOnce, type Secret } from './SecretOnce.tsx'
import { Done, ErrorMessage, Progress } from './Status.tsx'

// Laid out by hand below; anything else the contract gains is rendered from the contract.
const KNOWN = [
  'name',
  'department_id',
  'manager_id',
  'skills_badge',
  'role',
  'status',
  'is_ai_agent',
  'agent_profile',
  'rotate_credentials',
  'rotate_webhook_secret',
]
type Updates = Record<string, unknown>
type Reply = ReplyOf<'employee.update'>

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i])
const isSensitive = (u: Updates) => SENSITIVE_EMPLOYEE_FIELDS.some((f) => f in u)

function secretsOf(r: Reply): Secret[] {
  const out: Secret[] = []
  if (r.mqtt_connection) out.push({ label: 'mqtt_connection', value: JSON.stringify(r.mqtt_connection, null, 2) })
  if (r.webhook_secret) out.push({ label: 'webhook secret', value: r.webhook_secret })
  return out
}

/** Edits one employee or agent; role, status and new credentials go through the challenge step. */
export function EmployeeEditForm({ employee: e }: { employee: Employee }) {
  const org = useOrg()
  const client = useClient()
  const [name, setName] = useState(e.name)
  const [department, setDepartment] = useState(e.department_id ?? '')
  const [manager, setManager] = useState(e.manager_id ?? '')
  const [badges, setBadges] = useState(e.skills_badge.join(', '))
  const [status, setStatus] = useState(e.status)
  const [role, setRole] = useState('')
  const [kind, setKind] = useState('')
  const [rotate, setRotate] = useState({ credentials: false, webhook: false })
  const [profile, setProfile] = useState<Record<string, RawValue>>({})
  const [extra, setExtra] = useState<Record<string, RawValue>>({})
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ActionError | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const [secrets, setSecrets] = useState<Secret[]>([])
  const [confirming, setConfirming] = useState<Updates | null>(null)
  const updatesShape = objectShape(employeeUpdates)
  const profileFields = useMemo(
    () => (updatesShape?.agent_profile ? extraFields(updatesShape.agent_profile, []) : []),
    [updatesShape],
  )
  const otherFields = useMemo(() => extraFields(employeeUpdates, KNOWN), [])
  const agent = kind ? kind === 'agent' : e.is_ai_agent
  const capabilities = org.capabilities.get(e.employee_id) ?? []

  const changes = (): Updates => {
    const u: Updates = {}
    if (name.trim() !== e.name) u.name = name.trim()
    if ((department || null) !== e.department_id) u.department_id = department || null
    if ((manager.trim() || null) !== e.manager_id) u.manager_id = manager.trim() || null
    if (!sameList(splitList(badges), e.skills_badge)) u.skills_badge = splitList(badges)
    if (status !== e.status) u.status = status
    if (role) u.role = role
    if (kind) u.is_ai_agent = kind === 'agent'
    if (rotate.credentials) u.rotate_credentials = true
    if (agent && rotate.webhook) u.rotate_webhook_secret = true
    if (agent) {
      // A patch: only what the admin filled in changes; the rest of the profile stays.
      const p: Record<string, unknown> = {}
      for (const f of profileFields) {
        const v = toValue(f, profile[f.key])
        if (v !== undefined) p[f.key] = v
      }
      if (Object.keys(p).length > 0) u.agent_profile = p
    }
    for (const f of otherFields) {
      const v = toValue(f, extra[f.key])
      if (v !== undefined) u[f.key] = v
    }
    return u
  }

  const send = async (updates: Updates, challenge?: ChallengePair) => {
    const r = await client.request('employee.update', {
      employee_id: e.employee_id,
      updates,
      ...challenge,
    } as RequestInputOf<'employee.update'>)
    setSaved(`Saved ${Object.keys(updates).join(', ')}`)
    setSecrets(secretsOf(r))
    setRole('')
    setKind('')
    setRotate({ credentials: false, webhook: false })
    setProfile({})
    setExtra({})
    void org.refresh()
  }

  const submit = async (ev: FormEvent) => {
    ev.preventDefault()
    setError(null)
    setSaved(null)
    const updates = changes()
    if (Object.keys(updates).length === 0) return setError({ code: 0, message: 'Nothing changed' })
    if (isSensitive(updates)) return setConfirming(updates)
    setPending(true)
    try {
      await send(updates)
    } catch (err) {
      setError(toActionError(err))
    } finally {
      setPending(false)
    }
  }

  if (secrets.length > 0)
    return (
      <SecretOnce
        title={`New credentials for ${e.name} (${e.employee_id})`}
        secrets={secrets}
        onDone={() => setSecrets([])}
      />
    )

  return (
    <form onSubmit={(ev) => void submit(ev)} aria-label={`Edit ${e.name}`} className="form">
      <h3>
        Edit {e.name} <code>{e.employee_id}</code> {e.is_ai_agent ? <span className="tag agent">AI agent</span> : null}
      </h3>
      {e.is_ai_agent ? <Chips items={capabilities} kind="capability" label="Capabilities" /> : null}
      <Field label="Name">
        <input value={name} onChange={(ev) => setName(ev.target.value)} required maxLength={64} />
      </Field>
      <DepartmentSelect label="Department" value={department} onChange={setDepartment} noneLabel="— no department —" />
      <Field label="Manager" hint="an employee id, empty for none">
        <input value={manager} onChange={(ev) => setManager(ev.target.value)} autoComplete="off" />
      </Field>
      <Field label="Skills badges" hint="comma-separated">
        <input value={badges} onChange={(ev) => setBadges(ev.target.value)} />
      </Field>
      <Field label="Status" hint="changing it needs a challenge">
        <select value={status} onChange={(ev) => setStatus(ev.target.value as Employee['status'])}>
          <option value="active">active</option>
          <option value="disabled">disabled</option>
        </select>
      </Field>
      <Field label="Role" hint="changing it needs a challenge">
        <select value={role} onChange={(ev) => setRole(ev.target.value)}>
          <option value="">— unchanged —</option>
          <option value="member">member</option>
          <option value="admin">admin (org administrator)</option>
        </select>
      </Field>
      <Field label="Kind">
        <select value={kind} onChange={(ev) => setKind(ev.target.value)}>
          <option value="">— unchanged ({e.is_ai_agent ? 'AI agent' : 'person'}) —</option>
          <option value="agent">AI agent</option>
          <option value="person">person (clears the agent profile)</option>
        </select>
      </Field>
      {agent ? (
        <fieldset>
          <legend>Agent profile</legend>
          <p className="hint">Only the fields you fill in change.</p>
          <ContractFields
            fields={profileFields}
            values={profile}
            onChange={(k, v) => setProfile((p) => ({ ...p, [k]: v }))}
            placeholders={capabilities.length > 0 ? { capabilities: `now: ${capabilities.join(', ')}` } : {}}
          />
          <label className="field check">
            <input
              type="checkbox"
              checked={rotate.webhook}
              onChange={(ev) => setRotate((r) => ({ ...r, webhook: ev.target.checked }))}
            />
            <span>Rotate the webhook secret (the old one stops working)</span>
          </label>
        </fieldset>
      ) : null}
      <label className="field check">
        <input
          type="checkbox"
          checked={rotate.credentials}
          onChange={(ev) => setRotate((r) => ({ ...r, credentials: ev.target.checked }))}
        />
        <span>Issue new MQTT credentials (needs a challenge; the old password stops working)</span>
      </label>
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
      <ErrorMessage error={error} />
      {pending ? <Progress label="Saving…" /> : null}
      {saved ? <Done>{saved}</Done> : null}
      <button type="submit" className="primary" disabled={pending}>
        Save changes
      </button>
      {confirming ? (
        <ChallengeDialog
          action="employee.update"
          title={`Change ${Object.keys(confirming)
            .filter((k) => (SENSITIVE_EMPLOYEE_FIELDS as readonly string[]).includes(k))
            .join(' and ')
            .replace(/_/g, ' ')} of ${e.name}`}
          description={<p>This is sensitive: it takes effect on every device of {e.name} at once.</p>}
          confirmText={e.employee_id}
          confirmLabel="Apply changes"
          run={(c) => send(confirming, c)}
          onClose={() => setConfirming(null)}
        />
      ) : null}
    </form>
  )
}
