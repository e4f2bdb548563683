import { useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useRef, useState, type KeyboardEvent } from 'react'

/**
 * A virtualised list that one focusable container drives from the keyboard (the active row is
 * named by aria-activedescendant): only the rows in view exist in the DOM, so tabbing through a
 * thousand rows is neither possible nor wanted; arrows, Page keys, Home and End are.
 */
export function useVirtualNav(count: number, rowHeight: number) {
  const parentRef = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => parentRef.current,
    estimateSize: () => rowHeight,
    overscan: 10,
  })
  const [activeRaw, setActiveRaw] = useState(0)
  const active = count === 0 ? -1 : Math.min(activeRaw, count - 1)

  const moveTo = useCallback(
    (index: number) => {
      if (count === 0) return
      const i = Math.max(0, Math.min(count - 1, index))
      setActiveRaw(i)
      virtualizer.scrollToIndex(i, { align: 'auto' })
    },
    [count, virtualizer],
  )

  /** Handles a navigation key; returns false for keys that are the caller's. */
  const onNavKey = useCallback(
    (e: KeyboardEvent): boolean => {
      const page = Math.max(1, Math.floor((parentRef.current?.clientHeight ?? rowHeight * 10) / rowHeight) - 1)
      const to: Record<string, number> = {
        ArrowDown: active + 1,
        ArrowUp: active - 1,
        PageDown: active + page,
        PageUp: active - page,
        Home: 0,
        End: count - 1,
      }
      if (!(e.key in to)) return false
      e.preventDefault()
      moveTo(to[e.key]!)
      return true
    },
    [active, count, moveTo, rowHeight],
  )

  return { parentRef, virtualizer, active, moveTo, onNavKey }
}
