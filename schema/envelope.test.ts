import { describe, expect, it } from 'vitest'
import { CONTENT_MAX_BYTES, messageContent } from './content.ts'
import { checkEnvelope, fail, MAX_JSON_DEPTH, nestedDeeperThan, ok } from './envelope.ts'
import { Code, ERROR_CODES, isErrorCode } from './codes.ts'

describe('request envelope', () => {
  it('needs an object with an action; a payload seq_id must equal the topic’s', () => {
    expect(checkEnvelope({ action: 'org.tree' }, 's1')).toEqual({ ok: true, action: 'org.tree' })
    expect(checkEnvelope({ action: 'org.tree', seq_id: 's1' }, 's1')).toEqual({ ok: true, action: 'org.tree' })
    expect(checkEnvelope({ action: 'org.tree', seq_id: 's2' }, 's1')).toEqual({
      ok: false,
      message: 'seq_id: does not match the seq_id in the topic',
    })
    expect(checkEnvelope([], 's1')).toEqual({ ok: false, message: 'payload must be a JSON object' })
    expect(checkEnvelope(null, 's1')).toMatchObject({ ok: false })
    expect(checkEnvelope({}, 's1')).toMatchObject({ ok: false, message: expect.stringMatching(/^action: /) })
    expect(checkEnvelope({ action: 7 }, 's1')).toMatchObject({ ok: false, message: expect.stringMatching(/^action: /) })
    expect(checkEnvelope({ action: 'x', seq_id: 5 }, 's1')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^seq_id: /),
    })
  })

  it('builds replies in the seed’s shape', () => {
    expect(ok({ a: 1 })).toEqual({ code: 0, message: 'ok', data: { a: 1 } })
    expect(fail(Code.FORBIDDEN, '无权限执行该操作')).toEqual({ code: 403, message: '无权限执行该操作', data: null })
  })

  it('knows the error codes, including the documented additions', () => {
    expect(ERROR_CODES).toEqual([400, 401, 403, 404, 409, 413, 429, 500, 503, 504])
    expect(isErrorCode(0)).toBe(false)
    expect(isErrorCode(418)).toBe(false)
  })
})

describe('message content', () => {
  it('accepts a string or {type, body} as in seed 002 §1.3', () => {
    for (const c of [
      'hi',
      { type: 'text', body: 'hi' },
      { type: 'text', body: { text: 'hi' } },
      { type: 'image', body: { url: 'https://x/a.png', width: 1, height: 2 } },
      { type: 'file', body: { url: 'https://x/a.pdf', name: 'a.pdf', size: 10 } },
    ]) {
      expect(messageContent.safeParse(c).success, JSON.stringify(c)).toBe(true)
    }
  })

  it('refuses empty, unknown, unsafe and oversized content', () => {
    for (const c of [
      '',
      { type: 'audio', body: 'x' },
      { type: 'image', body: { url: 'ftp://x/a' } },
      { type: 'file', body: { url: 'https://x', name: 'a' } },
      'x'.repeat(CONTENT_MAX_BYTES + 1),
      42,
    ]) {
      expect(messageContent.safeParse(c).success, JSON.stringify(c).slice(0, 40)).toBe(false)
    }
    // The limit counts UTF-8 bytes, not characters.
    expect(messageContent.safeParse('你'.repeat(Math.floor(CONTENT_MAX_BYTES / 3))).success).toBe(true)
    expect(messageContent.safeParse('你'.repeat(Math.floor(CONTENT_MAX_BYTES / 3) + 1)).success).toBe(false)
  })
})

describe('nesting depth', () => {
  it('counts arrays and objects outside strings only', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n)
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false)
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true)
    expect(nestedDeeperThan(JSON.stringify({ a: '[[[[[[[[', b: '{{{{\\"{{{{' }), 2)).toBe(false)
    expect(nestedDeeperThan(JSON.stringify({ a: { b: { c: [1] } } }), 3)).toBe(true)
  })
})
