import { useEffect, useState } from 'react'
import { OrgProvider } from './hooks/useOrg.tsx'
import { PresenceProvider } from './hooks/usePresence.tsx'
import { hrefOf, useRoute, type Screen } from './hooks/useRoute.ts'
import { useConnected, useSession } from './hooks/useSession.tsx'
import { loadConfig, type RuntimeConfig } from './lib/config.ts'
import type { MChatClient } from './lib/mchat.ts'
import { AgentMarket } from './screens/AgentMarket.tsx'
import { AuditLog } from './screens/AuditLog.tsx'
import { Departments } from './screens/Departments.tsx'
import { Employees } from './screens/Employees.tsx'
import { Groups } from './screens/Groups.tsx'
import { OrgChart } from './screens/OrgChart.tsx'
import { SignIn } from './screens/SignIn.tsx'
import { Progress } from './components/Status.tsx'

const NAV: Array<{ screen: Screen; label: string }> = [
  { screen: 'org', label: 'Org chart' },
  { screen: 'employees', label: 'Employees & agents' },
  { screen: 'departments', label: 'Departments' },
  { screen: 'groups', label: 'Groups' },
  { screen: 'agents', label: 'Agent market' },
  { screen: 'audit', label: 'Audit log' },
]

function Current() {
  const { screen, param } = useRoute()
  switch (screen) {
    case 'org':
      return <OrgChart />
    case 'employees':
      return <Employees selected={param} />
    case 'departments':
      return <Departments />
    case 'groups':
      return <Groups />
    case 'agents':
      return <AgentMarket />
    case 'audit':
      return <AuditLog />
  }
}

function Shell({ client }: { client: MChatClient }) {
  const { signOut } = useSession()
  const { screen } = useRoute()
  const connected = useConnected(client)
  useEffect(() => {
    document.title = `${NAV.find((n) => n.screen === screen)?.label ?? ''} · MChat Admin`
  }, [screen])
  return (
    <PresenceProvider>
      <OrgProvider>
        <a
          href="#main"
          className="skip"
          onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
        >
          Skip to content
        </a>
        <header className="top">
          <span className="brand">MChat Admin</span>
          <nav aria-label="Screens">
            <ul>
              {NAV.map((n) => (
                <li key={n.screen}>
                  <a href={hrefOf(n.screen)} aria-current={n.screen === screen ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <span className={`conn ${connected ? 'up' : 'down'}`} role="status">
            {connected ? `Signed in as ${client.employeeId}` : 'Connection lost — reconnecting…'}
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </header>
        <main id="main" tabIndex={-1}>
          <Current />
        </main>
      </OrgProvider>
    </PresenceProvider>
  )
}

export function App() {
  const { state } = useSession()
  const [config, setConfig] = useState<RuntimeConfig | null>(null)
  useEffect(() => void loadConfig().then(setConfig), [])
  if (state.status === 'signed-in') return <Shell client={state.client} />
  if (!config) return <Progress label="Loading…" />
  return <SignIn brokerUrl={config.brokerUrl} />
}
