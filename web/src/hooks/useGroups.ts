import { useCallback, useEffect, useState } from 'react'
import type { ReplyOf } from '../lib/mchat.ts'
import { toActionError, type ActionError } from './useAction.ts'
import { useClient } from './useSession.tsx'

export type GroupSummary = ReplyOf<'group.list'>['groups'][number]

/** The admin's own groups (group.list), refreshed when a notice says they changed. */
export function useGroups() {
  const client = useClient()
  const [groups, setGroups] = useState<GroupSummary[]>([])
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ActionError | null>(null)

  const refresh = useCallback(async () => {
    setLoading(true)
    try {
      setGroups((await client.request('group.list', {})).groups)
      setError(null)
    } catch (err) {
      setError(toActionError(err))
    } finally {
      setLoading(false)
    }
  }, [client])

  useEffect(() => {
    void refresh()
    // Groups made, joined, left or dismissed elsewhere reach the admin's inbox as notices.
    return client.on('notice', (n) => {
      if (n.type === 'member_joined' || n.type === 'member_removed' || n.type === 'group_dismissed') void refresh()
    })
  }, [client, refresh])

  return { groups, loading, error, refresh }
}
