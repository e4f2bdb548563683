import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react'
import type { MChatClient, Presence } from '../lib/mchat.ts'
import { useClient } from './useSession.tsx'

export type PresenceState = Presence['status'] | 'unknown'

const EVERYONE = 'mchat/status/+'

/**
 * Every employee's retained presence, from one wildcard subscription. A thousand retained
 * statuses arrive at once after subscribing: listeners hear about them in batches, not one by one.
 */
class PresenceStore {
  #status = new Map<string, Presence['status']>()
  #listeners = new Set<() => void>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #online = 0

  constructor(readonly client: MChatClient) {}

  start(): () => void {
    const offPresence = this.client.on('presence', (p) => {
      const before = this.#status.get(p.employee_id)
      if (before === p.status) return
      if (before === 'online') this.#online--
      if (p.status === 'online') this.#online++
      this.#status.set(p.employee_id, p.status)
      this.#schedule()
    })
    // The SDK restores only its own subscriptions after a reconnect; this one is the app's.
    const subscribe = () => void this.client.mqtt.subscribeAsync(EVERYONE, { qos: 1 }).catch(() => {})
    const offConnect = this.client.on('connect', subscribe)
    subscribe()
    return () => {
      offPresence()
      offConnect()
      clearTimeout(this.#timer)
      void this.client.mqtt.unsubscribeAsync(EVERYONE).catch(() => {})
    }
  }

  subscribe = (listener: () => void) => {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  status(employeeId: string): PresenceState {
    return this.#status.get(employeeId) ?? 'unknown'
  }

  online(): number {
    return this.#online
  }

  #schedule(): void {
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      for (const l of this.#listeners) l()
    }, 100)
  }
}

const PresenceContext = createContext<PresenceStore | null>(null)

export function PresenceProvider({ children }: { children: ReactNode }) {
  const client = useClient()
  const store = useMemo(() => new PresenceStore(client), [client])
  useEffect(() => store.start(), [store])
  return <PresenceContext value={store}>{children}</PresenceContext>
}

function useStore(): PresenceStore {
  const s = useContext(PresenceContext)
  if (!s) throw new Error('usePresence outside PresenceProvider')
  return s
}

/** One employee's presence; the component re-renders only when that employee's changes. */
export function usePresence(employeeId: string): PresenceState {
  const store = useStore()
  return useSyncExternalStore(store.subscribe, () => store.status(employeeId))
}

export function useOnlineCount(): number {
  const store = useStore()
  return useSyncExternalStore(store.subscribe, () => store.online())
}
