import { useCallback, useRef, useState } from 'react'
import type { ReplyOf, RequestInputOf } from '../lib/mchat.ts'
import { toActionError, type ActionError } from './useAction.ts'
import { useClient } from './useSession.tsx'

export type AuditEntry = ReplyOf<'audit.query'>['entries'][number]
export type AuditFilters = Omit<RequestInputOf<'audit.query'>, 'cursor'>

/** audit.query with cursor paging: a search, then "more", and a walk over every page for export. */
export function useAuditLog() {
  const client = useClient()
  const [entries, setEntries] = useState<AuditEntry[]>([])
  const [more, setMore] = useState(false)
  const cursor = useRef<string | null>(null)
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ActionError | null>(null)
  const [searched, setSearched] = useState(false)
  const filters = useRef<AuditFilters>({})
  const cancelled = useRef(false)

  const page = useCallback(
    async (fresh: boolean) => {
      setPending(true)
      setError(null)
      try {
        const r = await client.request('audit.query', {
          ...filters.current,
          ...(!fresh && cursor.current ? { cursor: cursor.current } : {}),
        })
        setEntries((prev) => (fresh ? r.entries : [...prev, ...r.entries]))
        cursor.current = r.next_cursor
        setMore(r.next_cursor !== null)
        setSearched(true)
      } catch (err) {
        setError(toActionError(err))
      } finally {
        setPending(false)
      }
    },
    [client],
  )

  const search = useCallback(
    (f: AuditFilters) => {
      filters.current = f
      return page(true)
    },
    [page],
  )

  /** Every entry matching the last search, page after page; `progress` hears the count so far. */
  const all = useCallback(
    async (progress: (n: number) => void): Promise<AuditEntry[] | null> => {
      cancelled.current = false
      const out: AuditEntry[] = []
      let next: string | null = null
      do {
        if (cancelled.current) return null
        const r: ReplyOf<'audit.query'> = await client.request('audit.query', {
          ...filters.current,
          limit: 500,
          ...(next ? { cursor: next } : {}),
        })
        out.push(...r.entries)
        next = r.next_cursor
        progress(out.length)
      } while (next)
      return out
    },
    [client],
  )

  const cancel = useCallback(() => {
    cancelled.current = true
  }, [])

  return { entries, more, pending, error, searched, search, loadMore: () => page(false), all, cancel }
}
