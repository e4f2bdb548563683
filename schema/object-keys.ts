/**
 * Object keys in the file store. Messages are never stored (DESIGN contract 3), so nothing on the
 * server remembers which conversation a file was shared in: the key itself says so, and who may
 * read it follows from the key and current membership (docs/actions.md, "Files").
 *
 *   u/{employee_id}/…                                 the employee's own (config.storage's prefix)
 *   p/{a}~{b}/{uploader}/{file_id}/{file_name}         a private chat between a and b, a < b
 *   g/{group_id}/{uploader}/{file_id}/{file_name}      a group
 *
 * Entity ids never contain `/`, `.` or `~` (ids.ts), so every part parses back unambiguously.
 */

const ID = /^[A-Za-z0-9_-]{1,64}$/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** S3's limit on a key, in UTF-8 bytes. */
export const OBJECT_KEY_MAX_BYTES = 1024

export type ObjectScope =
  | { kind: 'own'; owner: string }
  | { kind: 'private'; employee_ids: [string, string]; uploader: string }
  | { kind: 'group'; group_id: string; uploader: string }

export const ownKeyPrefix = (employeeId: string) => `u/${employeeId}/`

export function privateKeyPrefix(x: string, y: string): string {
  const [a, b] = x < y ? [x, y] : [y, x]
  return `p/${a}~${b}/`
}

export const groupKeyPrefix = (groupId: string) => `g/${groupId}/`

/** Where file.upload_url puts one upload: under the conversation, then who uploaded it. */
export function objectKey(scope: ObjectScope, fileId: string, fileName: string): string {
  switch (scope.kind) {
    case 'own':
      return `${ownKeyPrefix(scope.owner)}${fileId}/${fileName}`
    case 'private':
      return `${privateKeyPrefix(...scope.employee_ids)}${scope.uploader}/${fileId}/${fileName}`
    case 'group':
      return `${groupKeyPrefix(scope.group_id)}${scope.uploader}/${fileId}/${fileName}`
  }
}

/**
 * The scope a key belongs to, or null for any key MChat never hands out rights to. Empty, `.` and
 * `..` segments are refused: URL parsers resolve them, so the object signed for would not be the
 * object fetched.
 */
export function parseObjectKey(key: string): ObjectScope | null {
  if (LONE_SURROGATE.test(key) || new TextEncoder().encode(key).byteLength > OBJECT_KEY_MAX_BYTES) return null
  const parts = key.split('/')
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return null
  const [kind, owner, uploader] = parts
  if (kind === 'u') return parts.length >= 3 && ID.test(owner!) ? { kind: 'own', owner: owner! } : null
  // Only the workers issue keys under p/ and g/, always with exactly these five parts.
  if (parts.length !== 5 || !ID.test(uploader!)) return null
  if (kind === 'g') return ID.test(owner!) ? { kind: 'group', group_id: owner!, uploader: uploader! } : null
  if (kind === 'p') {
    const pair = owner!.split('~')
    const [a, b] = pair
    if (pair.length !== 2 || !ID.test(a!) || !ID.test(b!) || !(a! < b!)) return null
    if (uploader !== a && uploader !== b) return null
    return { kind: 'private', employee_ids: [a!, b!], uploader: uploader! }
  }
  return null
}

/**
 * A file name as it goes into a key: one segment, no control characters, well-formed UTF-16 (a
 * lone surrogate cannot be percent-encoded). What the uploader called the file stays readable.
 */
export function keySafeFileName(name: string): string {
  const cleaned = name
    .replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd')
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_')
    .trim()
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'file' : cleaned
}
