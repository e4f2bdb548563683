import { useCallback, useEffect, useState } from 'react'
import type { ReplyOf } from '../lib/mchat.ts'
import { toActionError, type ActionError } from './useAction.ts'
import { useClient } from './useSession.tsx'

export type GroupSummary = ReplyOf<'group.list'>['groups'][number]

/**
 * The admin's own groups (group.list), plus what this session learnt about members: the server
 * has no "list a group's members" action, so members are known from the replies of create, add
 * and remove made here.
 */
export function useGroups() {
  const client = useClient()
  const [groups, setGroups] = useState<GroupSummary[]>([])
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ActionError | null>(null)
  const [members, setMembers] = useState<ReadonlyMap<string, ReadonlySet<string>>>(new Map())

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

  const learn = useCallback(
    (groupId: string, change: { set?: readonly string[]; add?: readonly string[]; remove?: readonly string[] }) => {
      setMembers((prev) => {
        const next = new Map(prev)
        const s = new Set(change.set ?? prev.get(groupId) ?? [])
        for (const id of change.add ?? []) s.add(id)
        for (const id of change.remove ?? []) s.delete(id)
        next.set(groupId, s)
        return next
      })
    },
    [],
  )

  return { groups, loading, error, refresh, members, learn }
}
