import { useId, type ReactNode } from 'react'
import { useVirtualNav } from '../hooks/useVirtualNav.ts'

interface Props<T> {
  label: string
  items: readonly T[]
  keyOf(item: T): string
  render(item: T): ReactNode
  /** Multi-select: the chosen keys, toggled with Space, Enter or a click. */
  selected?: ReadonlySet<string>
  onToggle?(item: T): void
  /** Single-select: Enter or a click opens the item. */
  onActivate?(item: T): void
  current?: string | null
  rowHeight?: number
  /** Visible height in px. */
  height?: number
  empty?: ReactNode
}

/** A listbox that renders only the rows in view: a thousand employees scroll without stalling. */
export function VirtualListbox<T>({
  label,
  items,
  keyOf,
  render,
  selected,
  onToggle,
  onActivate,
  current,
  rowHeight = 40,
  height = 360,
  empty,
}: Props<T>) {
  const id = useId()
  const { parentRef, virtualizer, active, moveTo, onNavKey } = useVirtualNav(items.length, rowHeight)
  const choose = (item: T) => (onToggle ? onToggle(item) : onActivate?.(item))

  return (
    <div
      ref={parentRef}
      className="vlist"
      style={{ height }}
      role="listbox"
      aria-label={label}
      aria-multiselectable={onToggle ? true : undefined}
      aria-activedescendant={active >= 0 ? `${id}-${active}` : undefined}
      tabIndex={0}
      onKeyDown={(e) => {
        if (onNavKey(e)) return
        if ((e.key === 'Enter' || e.key === ' ') && active >= 0) {
          e.preventDefault()
          choose(items[active]!)
        }
      }}
    >
      {items.length === 0 ? <div className="vlist-empty">{empty ?? 'Nothing to show'}</div> : null}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((row) => {
          const item = items[row.index]!
          const key = keyOf(item)
          const isSelected = onToggle ? (selected?.has(key) ?? false) : current === key
          return (
            <div
              key={key}
              id={`${id}-${row.index}`}
              role="option"
              aria-selected={isSelected}
              aria-setsize={items.length}
              aria-posinset={row.index + 1}
              className={`vrow${row.index === active ? ' active' : ''}${isSelected ? ' selected' : ''}`}
              style={{
                position: 'absolute',
                top: 0,
                left: 0,
                right: 0,
                height: rowHeight,
                transform: `translateY(${row.start}px)`,
              }}
              onClick={() => {
                moveTo(row.index)
                choose(item)
              }}
            >
              {onToggle ? (
                <span className="check" aria-hidden="true">
                  {isSelected ? '☑' : '☐'}
                </span>
              ) : null}
              {render(item)}
            </div>
          )
        })}
      </div>
    </div>
  )
}
