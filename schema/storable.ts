/**
 * PostgreSQL text and jsonb cannot hold U+0000, and jsonb refuses unpaired surrogates, so a value
 * with either would fail in the database, far from the field it came in. Checked on every request
 * before its contract, so the refusal names the field.
 */
const UNSTORABLE = /[\u0000\p{Cs}]/u

/** The path (`a.b.0`) of the first string, or object key, that cannot be stored; null if none. */
export function unstorableAt(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path.join('.') || '(payload)' : null
  if (typeof value !== 'object' || value === null) return null
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
  for (const [k, v] of entries) {
    if (UNSTORABLE.test(k)) return [...path, k.replace(UNSTORABLE, '?')].join('.')
    const found = unstorableAt(v, [...path, k])
    if (found !== null) return found
  }
  return null
}

export const UNSTORABLE_MESSAGE = 'must not contain U+0000 or an unpaired surrogate (they cannot be stored)'
