// Forms built from the zod contracts: fields the app does not lay out by hand (new ones another
// change adds to a contract) still get an input of the right kind, so the console keeps up with
// the schema without a release of its own.

export type FieldKind = 'text' | 'url' | 'number' | 'boolean' | 'flag' | 'list' | 'enum' | 'json'

export interface FieldSpec {
  key: string
  label: string
  kind: FieldKind
  required: boolean
  options?: string[]
  /** A flag's one value (`rotate_credentials: true`), sent when ticked. */
  literal?: unknown
  description?: string
}

interface Def {
  type: string
  innerType?: Schema
  in?: Schema
  element?: Schema
  entries?: Record<string, string>
  values?: unknown[]
  format?: string
  shape?: Record<string, Schema>
}
interface Schema {
  _zod: { def: Def }
  description?: string
}

const def = (s: unknown): Def => (s as Schema)._zod.def

/** The keys and field schemas of an object contract (through optional, default, pipe and refine). */
export function objectShape(schema: unknown): Record<string, unknown> | null {
  let s = schema as Schema
  for (let i = 0; i < 8; i++) {
    const d = s._zod.def
    if (d.type === 'object') return (s as unknown as { shape: Record<string, unknown> }).shape
    const next = d.innerType ?? d.in
    if (!next) return null
    s = next
  }
  return null
}

export function labelOf(key: string): string {
  const words = key.replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

export function describeField(key: string, schema: unknown): FieldSpec {
  let s = schema as Schema
  let required = true
  const description = s.description
  for (let i = 0; i < 8; i++) {
    const d = def(s)
    if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault') {
      required = false
      s = d.innerType!
    } else if (d.type === 'pipe') {
      s = d.in!
    } else break
  }
  const d = def(s)
  const base = { key, label: labelOf(key), required, ...(description ? { description } : {}) }
  switch (d.type) {
    case 'string':
      return { ...base, kind: d.format === 'url' ? 'url' : 'text' }
    case 'number':
    case 'int':
      return { ...base, kind: 'number' }
    case 'boolean':
      return { ...base, kind: 'boolean' }
    case 'enum':
      return { ...base, kind: 'enum', options: Object.values(d.entries ?? {}) }
    case 'literal':
      return { ...base, kind: 'flag', literal: d.values?.[0] }
    case 'array':
      return { ...base, kind: def(d.element).type === 'string' ? 'list' : 'json' }
    default:
      return { ...base, kind: 'json' }
  }
}

/** The fields of `schema` other than those the form lays out itself. */
export function extraFields(schema: unknown, known: readonly string[]): FieldSpec[] {
  const shape = objectShape(schema)
  if (!shape) return []
  return Object.entries(shape)
    .filter(([k]) => !known.includes(k))
    .map(([k, v]) => describeField(k, v))
}

export type RawValue = string | boolean

/** The request value for what the admin typed, or undefined to leave the field out. */
export function toValue(spec: FieldSpec, raw: RawValue | undefined): unknown {
  if (raw === undefined) return undefined
  if (spec.kind === 'boolean') return raw === true ? true : undefined
  if (spec.kind === 'flag') return raw === true ? spec.literal : undefined
  const text = String(raw).trim()
  if (text === '') return undefined
  switch (spec.kind) {
    case 'number':
      return Number(text)
    case 'list':
      return splitList(text)
    case 'json':
      try {
        return JSON.parse(text)
      } catch {
        // Sent as typed: the server names the field and says what is wrong with it.
        return text
      }
    default:
      return text
  }
}

/** "a, b ,c" → ["a", "b", "c"]: badges, capabilities, keywords are typed as comma-separated lists. */
export function splitList(text: string): string[] {
  return text
    .split(/[,，\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
}
