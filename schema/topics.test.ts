import { describe, expect, it } from 'vitest'
import {
  LIMITS,
  REQUEST_FILTER,
  clientIdMayName,
  employeeOfClientId,
  underscoreCandidates,
  groupTopic,
  inboxTopic,
  isDeliveryTopic,
  parseRequestTopic,
  profileTopic,
  replyTopic,
  requestTopic,
  sharedRequestFilter,
  statusTopic,
} from './topics.ts'

describe('topics', () => {
  it('builds the seed’s topics', () => {
    expect(requestTopic('c1', 's1')).toBe('mchat/msg/req/c1/s1')
    expect(replyTopic('c1', 's1')).toBe('mchat/msg/resp/c1/s1')
    expect(inboxTopic('emp_lisi_002')).toBe('mchat/inbox/emp_lisi_002')
    expect(groupTopic('grp_1')).toBe('mchat/group/grp_1')
    expect(profileTopic('e')).toBe('mchat/profile/e')
    expect(statusTopic('e')).toBe('mchat/status/e')
    expect(sharedRequestFilter('gateway')).toBe(`$share/gateway/${REQUEST_FILTER}`)
  })

  it('parses a request topic and round-trips the builder', () => {
    expect(parseRequestTopic(requestTopic('emp_1.web', '550e8400-e29b-41d4-a716-446655440000'))).toEqual({
      ok: true,
      client_id: 'emp_1.web',
      seq_id: '550e8400-e29b-41d4-a716-446655440000',
    })
  })

  it('rejects malformed levels, saying which and why', () => {
    expect(parseRequestTopic('mchat/msg/req/a')).toMatchObject({ ok: false })
    expect(parseRequestTopic('mchat/msg/resp/a/b')).toMatchObject({ ok: false })
    expect(parseRequestTopic('mchat/msg/req//1')).toMatchObject({
      ok: false,
      error: 'client_id is empty',
      client_id: '',
      seq_id: '1',
    })
    expect(parseRequestTopic(`mchat/msg/req/${'c'.repeat(LIMITS.clientIdMax + 1)}/1`)).toMatchObject({
      ok: false,
      error: `client_id is longer than ${LIMITS.clientIdMax} characters`,
    })
    expect(parseRequestTopic(`mchat/msg/req/c/${'s'.repeat(LIMITS.seqIdMax + 1)}`)).toMatchObject({
      ok: false,
      error: `seq_id is longer than ${LIMITS.seqIdMax} characters`,
    })
    for (const bad of ['a+b', 'a#', 'a b', 'a\u0000b', 'a\tb']) {
      const r = parseRequestTopic(`mchat/msg/req/${bad}/1`)
      expect(r.ok, JSON.stringify(bad)).toBe(false)
    }
    expect(parseRequestTopic('mchat/msg/req/c/s+')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^seq_id contains/),
    })
  })

  it('allows workers only the delivery namespaces', () => {
    for (const t of ['mchat/inbox/e1', 'mchat/group/g1', 'mchat/profile/e1', 'mchat/system/notify'])
      expect(isDeliveryTopic(t), t).toBe(true)
    for (const t of [
      'mchat/msg/resp/c/s',
      'mchat/msg/req/c/s',
      'mchat/status/e1',
      'mchat/inbox/+',
      'mchat/inbox/#',
      'mchat/inbox/a/b',
      'mchat/inbox/',
      'other/inbox/e',
      'mchat/system/other',
    ]) {
      expect(isDeliveryTopic(t), t).toBe(false)
    }
  })

  it('maps a client id to its employee under {employee_id}.{device_id}', () => {
    expect(employeeOfClientId('emp_zhangsan_001.web')).toBe('emp_zhangsan_001')
    expect(employeeOfClientId('admin.cli')).toBe('admin')
    for (const c of ['admin', 'admin.', '.web', 'a.b.c', 'a/b.c', 'a.b c']) expect(employeeOfClientId(c), c).toBeNull()
  })

  it('lists who an underscore-form client id could belong to, longest first', () => {
    expect(underscoreCandidates('emp_zhangsan_001_device1')).toEqual(['emp_zhangsan_001', 'emp_zhangsan', 'emp'])
    expect(underscoreCandidates('a_b')).toEqual(['a'])
    for (const c of ['a', 'a_', '_a', 'a__', 'a.b', 'a_b.c', 'a_b/c', 'a_b c', `a_${'x'.repeat(200)}`]) {
      expect(underscoreCandidates(c), c).toEqual(c === 'a__' ? ['a'] : [])
    }
    expect(clientIdMayName('emp_1_x_phone', 'emp_1')).toBe(true)
    expect(clientIdMayName('emp_1_x_phone', 'emp_1_x')).toBe(true)
    expect(clientIdMayName('emp_1_x_phone', 'emp_1_x_phone')).toBe(false)
    expect(clientIdMayName('emp_1.phone', 'emp_1')).toBe(true)
    expect(clientIdMayName('emp_1.phone', 'emp')).toBe(false)
  })
})
