import { describe, expect, it } from 'vitest'
import { unstorableAt } from './storable.ts'

describe('unstorableAt', () => {
  it('names the first string or key holding U+0000 or an unpaired surrogate', () => {
    expect(unstorableAt({ name: 'ok', list: ['a', 'b'] })).toBeNull()
    expect(unstorableAt({ name: 'a\u0000b' })).toBe('name')
    expect(unstorableAt({ agent_profile: { capabilities: ['ok', 'x\ud800'] } })).toBe('agent_profile.capabilities.1')
    expect(unstorableAt({ opts: { ['k\u0000']: 1 } })).toBe('opts.k?')
    expect(unstorableAt({ low: 'x\udc00y' })).toBe('low')
    expect(unstorableAt('\u0000')).toBe('(payload)')
  })

  it('lets well-formed text through, emoji (surrogate pairs) and other control characters included', () => {
    expect(unstorableAt({ name: '张三 😀 \u0001\t' })).toBeNull()
    expect(unstorableAt({ n: 1, b: true, z: null })).toBeNull()
  })
})
