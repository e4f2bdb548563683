import { describe, expect, it } from 'vitest'
import { keySafeFileName, objectKey, parseObjectKey, privateKeyPrefix, type ObjectScope } from './object-keys.ts'

describe('object keys', () => {
  it('parse back to the scope they were built from', () => {
    const scopes: ObjectScope[] = [
      { kind: 'own', owner: 'emp_a' },
      { kind: 'private', employee_ids: ['emp_a', 'emp_b'], uploader: 'emp_b' },
      { kind: 'group', group_id: 'grp_1', uploader: 'emp_a' },
    ]
    for (const scope of scopes) expect(parseObjectKey(objectKey(scope, 'f_1', '报告.pdf'))).toEqual(scope)
  })

  it('name a private chat the same way whoever uploads', () => {
    expect(privateKeyPrefix('emp_b', 'emp_a')).toBe(privateKeyPrefix('emp_a', 'emp_b'))
    expect(objectKey({ kind: 'private', employee_ids: ['emp_b', 'emp_a'], uploader: 'emp_b' }, 'f', 'x')).toBe(
      'p/emp_a~emp_b/emp_b/f/x',
    )
  })

  it('refuse every shape MChat never hands out rights to', () => {
    for (const key of [
      'u/emp_a', // nothing under the prefix
      'u/emp.a/x', // not an id
      'u/emp_a/../emp_b/x', // resolved away by URL parsers
      'u/emp_a//x',
      'u/emp_a/./x',
      'x/emp_a/f/n',
      'g/grp_1/emp_a/f', // too short
      'g/grp_1/emp_a/f/n/extra',
      'p/emp_b~emp_a/emp_a/f/n', // pair not ordered
      'p/emp_a~emp_a/emp_a/f/n',
      'p/emp_a~emp_b/emp_c/f/n', // uploader not in the chat
      'p/emp_a/emp_a/f/n',
      `u/emp_a/${'x'.repeat(1100)}`,
      'u/emp_a/\ud800',
    ]) {
      expect(parseObjectKey(key), key).toBeNull()
    }
  })

  it('keep a file name readable but one well-formed segment', () => {
    expect(keySafeFileName('报告.pdf')).toBe('报告.pdf')
    expect(keySafeFileName('../etc/passwd')).toBe('.._etc_passwd')
    expect(keySafeFileName('a\\b\nc')).toBe('a_b_c')
    expect(keySafeFileName('..')).toBe('file')
    expect(keySafeFileName('  ')).toBe('file')
    expect(keySafeFileName('x\ud800y')).toBe('x\ufffdy')
  })
})
