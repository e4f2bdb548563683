import { useEffect, useRef, useState, type FormEvent } from 'react'
import { useVirtualizer } from '@tanstack/react-virtual'
import { ErrorMessage, Progress } from '../components/Status.tsx'
import { toActionError, type ActionError } from '../hooks/useAction.ts'
import { useAuditLog, type AuditEntry, type AuditFilters } from '../hooks/useAuditLog.ts'
import { download, toCsv } from '../lib/csv.ts'
import { ACTION_NAMES } from '../lib/mchat.ts'
import { Field } from '../components/Field.tsx'
import { count } from '../lib/format.ts'

const ROW = 36
const COLUMNS = ['Time', 'Operator', 'Client ID', 'Action', 'Result', 'Parameters'] as const

const summary = (params: unknown): string => (params === null || params === undefined ? '' : JSON.stringify(params))
const isoOf = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined)

function Rows({ entries }: { entries: readonly AuditEntry[] }) {
  const ref = useRef<HTMLDivElement>(null)
  const v = useVirtualizer({
    count: entries.length,
    getScrollElement: () => ref.current,
    estimateSize: () => ROW,
    overscan: 12,
  })
  return (
    <div className="audit" role="table" aria-label="Audit entries" aria-rowcount={entries.length + 1}>
      <div role="rowgroup" className="audit-head">
        <div role="row" aria-rowindex={1} className="audit-row">
          {COLUMNS.map((c) => (
            <span key={c} role="columnheader">
              {c}
            </span>
          ))}
        </div>
      </div>
      <div ref={ref} role="rowgroup" className="audit-body" tabIndex={0} aria-label="Audit entries, scrollable">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((r) => {
            const e = entries[r.index]!
            return (
              <div
                key={e.audit_id}
                role="row"
                aria-rowindex={r.index + 2}
                className={`audit-row${e.result_code === 0 ? '' : ' refused'}`}
                style={{
                  position: 'absolute',
                  top: 0,
                  left: 0,
                  right: 0,
                  height: ROW,
                  transform: `translateY(${r.start}px)`,
                }}
              >
                <span role="cell">
                  <time dateTime={e.ts}>{new Date(e.ts).toLocaleString()}</time>
                </span>
                <span role="cell">{e.operator_employee_id ?? '—'}</span>
                <span role="cell">{e.client_id ?? '—'}</span>
                <span role="cell">{e.action}</span>
                <span role="cell">{e.result_code}</span>
                <span role="cell" title={summary(e.params)}>
                  {summary(e.params)}
                </span>
              </div>
            )
          })}
        </div>
      </div>
    </div>
  )
}

export function AuditLog() {
  const log = useAuditLog()
  const [operator, setOperator] = useState('')
  const [action, setAction] = useState('')
  const [since, setSince] = useState('')
  const [until, setUntil] = useState('')
  const [limit, setLimit] = useState('100')
  const [exporting, setExporting] = useState<number | null>(null)
  const [exportError, setExportError] = useState<ActionError | null>(null)
  const { search } = log

  const filters = (): AuditFilters => {
    const f: AuditFilters = { limit: Number(limit) }
    if (operator.trim()) f.operator_id = operator.trim()
    if (action) f.action_name = action
    const s = isoOf(since)
    const u = isoOf(until)
    if (s) f.since = s
    if (u) f.until = u
    return f
  }

  useEffect(() => void search({ limit: 100 }), [search])

  const onSubmit = (e: FormEvent) => {
    e.preventDefault()
    void log.search(filters())
  }

  const exportCsv = async () => {
    setExportError(null)
    setExporting(0)
    try {
      const entries = await log.all(setExporting)
      if (!entries) return
      const csv = toCsv(
        ['audit_id', 'ts', 'operator_employee_id', 'client_id', 'action', 'result_code', 'params'],
        entries.map((e) => [e.audit_id, e.ts, e.operator_employee_id, e.client_id, e.action, e.result_code, e.params]),
      )
      download(`mchat-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`, csv)
    } catch (err) {
      setExportError(toActionError(err))
    } finally {
      setExporting(null)
    }
  }

  return (
    <section aria-labelledby="audit-title" className="screen">
      <header className="screen-head">
        <h2 id="audit-title">Audit log</h2>
        <p className="summary" aria-live="polite">
          {count(log.entries.length, 'entry', 'entries')} shown{log.more ? '; more available' : ''}
        </p>
      </header>
      <form onSubmit={onSubmit} className="filters" aria-label="Audit filters">
        <Field label="Operator (employee id)">
          <input value={operator} onChange={(e) => setOperator(e.target.value)} autoComplete="off" />
        </Field>
        <Field label="Action">
          <select value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">any action</option>
            {ACTION_NAMES.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Since">
          <input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} step={1} />
        </Field>
        <Field label="Until">
          <input type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} step={1} />
        </Field>
        <Field label="Page size">
          <select value={limit} onChange={(e) => setLimit(e.target.value)}>
            {['50', '100', '500'].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
        <div className="actions">
          <button type="submit" className="primary" disabled={log.pending}>
            Search
          </button>
          <button type="button" onClick={() => void exportCsv()} disabled={exporting !== null}>
            Export CSV
          </button>
        </div>
      </form>
      {exporting !== null ? (
        <div className="toolbar">
          <Progress label={`Exporting: ${exporting.toLocaleString()} entries fetched…`} />
          <button type="button" onClick={log.cancel}>
            Cancel export
          </button>
        </div>
      ) : null}
      <ErrorMessage error={exportError} />
      <ErrorMessage error={log.error} />
      {log.pending ? <Progress label="Querying the audit log…" /> : null}
      <Rows entries={log.entries} />
      {log.searched && log.entries.length === 0 && !log.pending ? <p className="hint">No entries match.</p> : null}
      {log.more ? (
        <button type="button" onClick={() => void log.loadMore()} disabled={log.pending}>
          Load more
        </button>
      ) : null}
    </section>
  )
}
