import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { Chips, PresenceDot } from '../components/Presence.tsx'
import { ErrorMessage, Progress } from '../components/Status.tsx'
import { useAction } from '../hooks/useAction.ts'
import type { AgentProfileSummary } from '../hooks/useOrg.tsx'
import { hrefOf } from '../hooks/useRoute.ts'
import { Field } from '../components/Field.tsx'
import { count } from '../lib/format.ts'

/** The capability market (seed 001): active AI agents, filtered by a skill on the server. */
export function AgentMarket() {
  const list = useAction('agent.capability_list')
  const [skill, setSkill] = useState('')
  const [agents, setAgents] = useState<AgentProfileSummary[]>([])
  const [every, setEvery] = useState<string[]>([])
  const [shownFor, setShownFor] = useState<string | null>(null)
  const { run } = list

  const load = useCallback(
    async (s: string) => {
      const r = await run(s ? { skill: s } : {})
      if (!r) return
      setAgents(r.agent_profiles)
      setShownFor(s || null)
      if (!s) setEvery([...new Set(r.agent_profiles.flatMap((a) => [...a.capabilities, ...a.skills_badge]))].sort())
    },
    [run],
  )

  useEffect(() => void load(''), [load])
  const onSubmit = (e: FormEvent) => {
    e.preventDefault()
    void load(skill.trim())
  }

  return (
    <section aria-labelledby="market-title" className="screen">
      <header className="screen-head">
        <h2 id="market-title">Agent capability market</h2>
        <p className="summary" aria-live="polite">
          {count(agents.length, 'agent')}
          {shownFor ? ` with the skill “${shownFor}”` : ''}
        </p>
      </header>
      <form onSubmit={onSubmit} className="toolbar" aria-label="Filter agents by skill">
        <Field label="Skill" inline>
          <input value={skill} onChange={(e) => setSkill(e.target.value)} list="market-skills" autoComplete="off" />
        </Field>
        <datalist id="market-skills">
          {every.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <button type="submit" className="primary" disabled={list.pending}>
          Filter
        </button>
        <button type="button" onClick={() => (setSkill(''), void load(''))} disabled={list.pending}>
          Show all
        </button>
      </form>
      {list.pending ? <Progress label="Asking the server for agents…" /> : null}
      <ErrorMessage error={list.error} />
      <ul className="cards" aria-label="Agents">
        {agents.map((a) => (
          <li key={a.employee_id} className="card">
            <h3>
              <PresenceDot employeeId={a.employee_id} /> {a.name}
            </h3>
            <p>
              <code>{a.employee_id}</code> · <a href={hrefOf('employees', a.employee_id)}>Edit</a>
            </p>
            <Chips items={a.capabilities} kind="capability" label={`Capabilities of ${a.name}`} />
            <Chips items={a.skills_badge} kind="badge" label={`Skills badges of ${a.name}`} />
          </li>
        ))}
      </ul>
      {!list.pending && agents.length === 0 ? <p className="hint">No active agent offers that skill.</p> : null}
    </section>
  )
}
