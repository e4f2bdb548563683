import type { Employee } from '../hooks/useOrg.tsx'
import { Chips, PresenceDot } from './Presence.tsx'

/** One person on one line: presence, name, id, agent tag, badges (and capabilities if given). */
export function PersonLine({ employee: e, capabilities }: { employee: Employee; capabilities?: readonly string[] }) {
  return (
    <span className="person">
      <PresenceDot employeeId={e.employee_id} />
      <span className="name">{e.name}</span>
      <span className="id">{e.employee_id}</span>
      {e.is_ai_agent ? <span className="tag agent">AI agent</span> : null}
      {e.status === 'disabled' ? <span className="tag disabled">disabled</span> : null}
      <Chips items={e.skills_badge} kind="badge" label="Skills badges" />
      {capabilities ? <Chips items={capabilities} kind="capability" label="Capabilities" /> : null}
    </span>
  )
}
