import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import type { ReplyOf } from '../lib/mchat.ts'
import { toActionError, type ActionError } from './useAction.ts'
import { useClient } from './useSession.tsx'

export type Department = ReplyOf<'org.tree'>['departments'][number]
export type Employee = ReplyOf<'org.tree'>['employees'][number]
export type AgentProfileSummary = ReplyOf<'agent.capability_list'>['agent_profiles'][number]

export interface Org {
  departments: Department[]
  employees: Employee[]
  /** Department ids in tree order (parents before children, siblings by sort_order, name). */
  departmentOrder: Department[]
  departmentDepth: Map<string, number>
  departmentById: Map<string, Department>
  employeeById: Map<string, Employee>
  /** Capabilities of active agents, by employee id (org.tree does not carry them). */
  capabilities: Map<string, string[]>
  loaded: boolean
  loading: boolean
  error: ActionError | null
  /** Reloads org.tree and the agents' capabilities; concurrent calls share one load. */
  refresh(): Promise<void>
}

const OrgContext = createContext<Org | null>(null)

function byOrder(a: Department, b: Department): number {
  return a.sort_order - b.sort_order || a.name.localeCompare(b.name)
}

function treeOrder(departments: Department[]): { order: Department[]; depth: Map<string, number> } {
  const ids = new Set(departments.map((d) => d.department_id))
  const children = new Map<string | null, Department[]>()
  for (const d of departments) {
    const parent = d.parent_id && ids.has(d.parent_id) ? d.parent_id : null
    children.set(parent, [...(children.get(parent) ?? []), d])
  }
  const order: Department[] = []
  const depth = new Map<string, number>()
  const walk = (parent: string | null, level: number) => {
    for (const d of (children.get(parent) ?? []).sort(byOrder)) {
      if (depth.has(d.department_id)) continue
      depth.set(d.department_id, level)
      order.push(d)
      walk(d.department_id, level + 1)
    }
  }
  walk(null, 0)
  return { order, depth }
}

export function OrgProvider({ children }: { children: ReactNode }) {
  const client = useClient()
  const [data, setData] = useState<{ tree: ReplyOf<'org.tree'>; agents: AgentProfileSummary[] }>({
    tree: { departments: [], employees: [] },
    agents: [],
  })
  const [loaded, setLoaded] = useState(false)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ActionError | null>(null)
  const inflight = useRef<Promise<void> | null>(null)

  const refresh = useCallback(() => {
    if (inflight.current) return inflight.current
    setLoading(true)
    const p = (async () => {
      try {
        const [tree, agents] = await Promise.all([
          client.request('org.tree', {}),
          client.request('agent.capability_list', {}),
        ])
        setData({ tree, agents: agents.agent_profiles })
        setError(null)
        setLoaded(true)
      } catch (err) {
        setError(toActionError(err))
      } finally {
        setLoading(false)
        inflight.current = null
      }
    })()
    inflight.current = p
    return p
  }, [client])

  useEffect(() => {
    void refresh()
    // Someone else's employee.create is announced on mchat/system/notify; a burst of them (an
    // import) becomes one reload.
    let timer: ReturnType<typeof setTimeout> | undefined
    const later = () => {
      clearTimeout(timer)
      timer = setTimeout(() => void refresh(), 400)
    }
    const offNotice = client.on('notice', (n) => n.type === 'employee_joined' && later())
    const offConnect = client.on('connect', later)
    return () => {
      clearTimeout(timer)
      offNotice()
      offConnect()
    }
  }, [client, refresh])

  const org = useMemo<Org>(() => {
    const { order, depth } = treeOrder(data.tree.departments)
    return {
      departments: data.tree.departments,
      employees: data.tree.employees,
      departmentOrder: order,
      departmentDepth: depth,
      departmentById: new Map(data.tree.departments.map((d) => [d.department_id, d])),
      employeeById: new Map(data.tree.employees.map((e) => [e.employee_id, e])),
      capabilities: new Map(data.agents.map((a) => [a.employee_id, a.capabilities])),
      loaded,
      loading,
      error,
      refresh,
    }
  }, [data, loaded, loading, error, refresh])

  return <OrgContext value={org}>{children}</OrgContext>
}

export function useOrg(): Org {
  const org = useContext(OrgContext)
  if (!org) throw new Error('useOrg outside OrgProvider')
  return org
}
