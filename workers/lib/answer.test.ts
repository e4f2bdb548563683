import { describe, expect, it } from 'vitest'
import { answerLine, ok, type Delivery } from '../../schema/index.ts'
import { answer } from './answer.ts'

describe('answer', () => {
  it('streams a large fan-out: the first deliveries leave before the rest are built', async () => {
    let built = 0
    function* notices(): Generator<Delivery> {
      for (let i = 0; i < 2000; i++) {
        built++
        yield { topic: `mchat/inbox/e${i}`, payload: { n: i } }
      }
    }
    const res = answer(notices(), ok({ done: true }))
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(built).toBeLessThan(2000)
    const decoder = new TextDecoder()
    let text = decoder.decode(first.value, { stream: true })
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true })
    const lines = text.trim().split('\n').map((l) => answerLine.parse(JSON.parse(l)))
    expect(lines).toHaveLength(2001)
    expect(lines.slice(0, 2000).map((l) => (l.kind === 'delivery' ? l.topic : null))).toEqual(Array.from({ length: 2000 }, (_, i) => `mchat/inbox/e${i}`))
    expect(lines[2000]).toEqual({ kind: 'reply', code: 0, message: 'ok', data: { done: true } })
  })

  it('answers the reply alone when there is nothing to deliver', async () => {
    expect(await answer([], ok(null)).text()).toBe('{"kind":"reply","code":0,"message":"ok","data":null}\n')
  })
})
