import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react'
import { forget, remember, rememberedCredentials, toConnection, type Credentials } from '../lib/credentials.ts'
import { MChatClient, MChatError } from '../lib/mchat.ts'

export type SessionState =
  | { status: 'signed-out'; error: string | null }
  | { status: 'connecting'; credentials: Credentials }
  | { status: 'signed-in'; client: MChatClient; credentials: Credentials }

interface Session {
  state: SessionState
  signIn(c: Credentials, keep: boolean): Promise<void>
  signOut(): Promise<void>
}

const SessionContext = createContext<Session | null>(null)
const CONNECT_TIMEOUT_MS = 20_000

function explain(err: unknown, c: Credentials): string {
  if (err instanceof MChatError) return err.message
  if (err instanceof Error && err.message) return err.message
  return `could not connect to ${c.brokerUrl}`
}

/** Connects, binds and checks the account may administer the org, or throws why not. */
async function open(c: Credentials): Promise<MChatClient> {
  const client = new MChatClient(toConnection(c), {
    deviceId: c.deviceId,
    url: c.brokerUrl,
    timeoutMs: CONNECT_TIMEOUT_MS,
    reconnectPeriodMs: 2000,
  })
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    // A WebSocket that never opens raises no MQTT error: MQTT.js just keeps retrying.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the broker at ${c.brokerUrl}`)), CONNECT_TIMEOUT_MS)
    })
    await Promise.race([client.start(), timeout])
    // Not audited and admin-only: the cheapest way to learn the account is an org admin.
    await client.request('audit.query', { limit: 1 })
    return client
  } catch (err) {
    await client.close().catch(() => {})
    throw err
  } finally {
    clearTimeout(timer)
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'signed-out', error: null })
  const current = useRef<MChatClient | null>(null)

  const signIn = useCallback(async (c: Credentials, keep: boolean) => {
    setState({ status: 'connecting', credentials: c })
    try {
      const client = await open(c)
      current.current = client
      if (keep) remember(c)
      else forget()
      setState({ status: 'signed-in', client, credentials: c })
    } catch (err) {
      setState({ status: 'signed-out', error: explain(err, c) })
    }
  }, [])

  const signOut = useCallback(async () => {
    forget()
    const client = current.current
    current.current = null
    setState({ status: 'signed-out', error: null })
    await client?.close().catch(() => {})
  }, [])

  const resumed = useRef(false)
  useEffect(() => {
    // Once per page load, StrictMode's second effect run included.
    if (resumed.current) return
    resumed.current = true
    const saved = rememberedCredentials()
    if (saved) void signIn(saved, true)
  }, [signIn])

  return <SessionContext value={{ state, signIn, signOut }}>{children}</SessionContext>
}

export function useSession(): Session {
  const s = useContext(SessionContext)
  if (!s) throw new Error('useSession outside SessionProvider')
  return s
}

/** The signed-in admin's SDK client. */
export function useClient(): MChatClient {
  const { state } = useSession()
  if (state.status !== 'signed-in') throw new Error('useClient before sign-in')
  return state.client
}

/** Whether the client's connection is up right now (MQTT.js reconnects by itself). */
export function useConnected(client: MChatClient): boolean {
  const [connected, setConnected] = useState(client.connected)
  useEffect(() => {
    const offA = client.on('connect', () => setConnected(true))
    const offB = client.on('offline', () => setConnected(false))
    return () => {
      offA()
      offB()
    }
  }, [client])
  return connected
}
