import type { FieldSpec, RawValue } from '../lib/contract-fields.ts'
import { Field } from './Field.tsx'

interface Props {
  fields: readonly FieldSpec[]
  values: Readonly<Record<string, RawValue>>
  onChange(key: string, value: RawValue): void
  /** Placeholder per field, e.g. the current value when editing. */
  placeholders?: Readonly<Record<string, string>>
}

/** Inputs for contract fields the form does not lay out by hand. */
export function ContractFields({ fields, values, onChange, placeholders = {} }: Props) {
  return (
    <>
      {fields.map((f) => {
        const value = values[f.key]
        const hint = f.kind === 'list' ? 'comma-separated' : f.kind === 'json' ? 'JSON' : f.description
        const label = `${f.label}${f.required ? ' (required)' : ''}`
        if (f.kind === 'boolean' || f.kind === 'flag')
          return (
            <label key={f.key} className="field check">
              <input type="checkbox" checked={value === true} onChange={(e) => onChange(f.key, e.target.checked)} />
              <span>{label}</span>
              {hint ? <small>{hint}</small> : null}
            </label>
          )
        if (f.kind === 'enum')
          return (
            <Field key={f.key} label={label} hint={hint}>
              <select value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(f.key, e.target.value)}>
                <option value="">—</option>
                {f.options?.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </Field>
          )
        return (
          <Field key={f.key} label={label} hint={hint}>
            <input
              type={f.kind === 'number' ? 'number' : f.kind === 'url' ? 'url' : 'text'}
              value={typeof value === 'string' ? value : ''}
              placeholder={placeholders[f.key]}
              onChange={(e) => onChange(f.key, e.target.value)}
            />
          </Field>
        )
      })}
    </>
  )
}
