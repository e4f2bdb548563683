import type { Bindings } from '../env.ts'

/**
 * The broker's management API in EMQX's v5 REST format (the embedded broker serves the same
 * subset): what the ACL cannot do by itself, because a broker checks rights only when a client
 * connects or subscribes — dropping connections and existing subscriptions.
 */
export interface BrokerApi {
  /**
   * Unsubscribes `topic` from every session of these employees; returns how many were dropped.
   * `ownersOf` says whose each subscribed client id is (workers/lib/client-owner.ts), because an
   * underscore-form id's owner is not in its form alone.
   */
  revokeSubscription(
    topic: string,
    employeeIds: readonly string[],
    ownersOf: (clientIds: string[]) => Promise<Map<string, string>>,
  ): Promise<number>
  /** Disconnects every client of this employee but `keep` (they must reconnect, and authn decides again). */
  disconnectEmployee(employeeId: string, keep?: string): Promise<number>
}

const PAGE = 1000

export function brokerApi(env: Bindings): BrokerApi | null {
  if (!env.BROKER_API_URL) return null
  const base = env.BROKER_API_URL.replace(/\/+$/, '')
  const auth = `Basic ${btoa(`${env.BROKER_API_KEY ?? ''}:${env.BROKER_API_SECRET ?? ''}`)}`
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    // 404: the client went away meanwhile, which is what we wanted.
    if (res.status === 404) return null
    if (!res.ok) throw new Error(`broker API ${method} ${path}: HTTP ${res.status}`)
    return res.status === 204 ? null : res.json()
  }
  const list = async (path: string): Promise<Array<{ clientid: string }>> => {
    const out: Array<{ clientid: string }> = []
    for (let page = 1; ; page++) {
      const r = (await call('GET', `${path}&limit=${PAGE}&page=${page}`)) as {
        data: Array<{ clientid: string }>
        meta?: { hasnext?: boolean }
      } | null
      if (!r) return out
      out.push(...r.data)
      if (!r.meta?.hasnext) return out
    }
  }
  return {
    async revokeSubscription(topic, employeeIds, ownersOf) {
      const wanted = new Set(employeeIds)
      const subs = await list(`/api/v5/subscriptions?topic=${encodeURIComponent(topic)}`)
      const owners = await ownersOf(subs.map((s) => s.clientid))
      const hit = subs.filter((s) => wanted.has(owners.get(s.clientid) ?? ''))
      await Promise.all(
        hit.map((s) => call('POST', `/api/v5/clients/${encodeURIComponent(s.clientid)}/unsubscribe`, { topic })),
      )
      return hit.length
    },
    async disconnectEmployee(employeeId, keep) {
      const clients = (await list(`/api/v5/clients?username=${encodeURIComponent(employeeId)}`)).filter(
        (cl) => cl.clientid !== keep,
      )
      await Promise.all(clients.map((cl) => call('DELETE', `/api/v5/clients/${encodeURIComponent(cl.clientid)}`)))
      return clients.length
    },
  }
}
