import { useOrg } from '../hooks/useOrg.tsx'
import { Field } from './Field.tsx'

interface Props {
  label: string
  value: string
  onChange(value: string): void
  /** What the empty choice means here (no department, the top level, unchanged…). */
  noneLabel: string
  /** Departments that may not be chosen (a department and its own subtree, when moving it). */
  exclude?: ReadonlySet<string>
  extra?: Array<{ value: string; label: string }>
}

export function DepartmentSelect({ label, value, onChange, noneLabel, exclude, extra = [] }: Props) {
  const org = useOrg()
  return (
    <Field label={label}>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {extra.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
        <option value="">{noneLabel}</option>
        {org.departmentOrder
          .filter((d) => !exclude?.has(d.department_id))
          .map((d) => (
            <option key={d.department_id} value={d.department_id}>
              {'\u00a0\u00a0'.repeat(org.departmentDepth.get(d.department_id) ?? 0)}
              {d.name}
            </option>
          ))}
      </select>
    </Field>
  )
}
