import { useCallback, useEffect, useState } from 'react'
import type { ReplyOf } from '../lib/mchat.ts'
import { toActionError, type ActionError } from './useAction.ts'
import { useClient } from './useSession.tsx'

export type GroupMember = ReplyOf<'group.members'>['members'][number]

/** Every member of one group, read page by page with group.members; `reload` after a change. */
export function useGroupMembers(groupId: string) {
  const client = useClient()
  const [members, setMembers] = useState<GroupMember[] | null>(null)
  const [error, setError] = useState<ActionError | null>(null)

  const reload = useCallback(async () => {
    try {
      const all: GroupMember[] = []
      let cursor: string | null = null
      do {
        const page: ReplyOf<'group.members'> = await client.request('group.members', {
          group_id: groupId,
          limit: 500,
          ...(cursor !== null && { cursor }),
        })
        all.push(...page.members)
        cursor = page.next_cursor
      } while (cursor !== null)
      setMembers(all)
      setError(null)
    } catch (err) {
      setMembers(null)
      setError(toActionError(err))
    }
  }, [client, groupId])

  useEffect(() => {
    void reload()
  }, [reload])

  return { members, error, reload }
}
