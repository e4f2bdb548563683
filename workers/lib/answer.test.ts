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
    for (let r = await reader.read(); !r.done; r = await reader.read())
      text += decoder.decode(r.value, { stream: true })
    const lines = text
      .trim()
      .split('\n')
      .map((l) => answerLine.parse(JSON.parse(l)))
    expect(lines).toHaveLength(2001)
    expect(lines.slice(0, 2000).map((l) => (l.kind === 'delivery' ? l.topic : null))).toEqual(
      Array.from({ length: 2000 }, (_, i) => `mchat/inbox/e${i}`),
    )
    expect(lines[2000]).toEqual({ kind: 'reply', code: 0, message: 'ok', data: { done: true } })
  })

  it('a follow-up streams after the first deliveries and may replace the reply; one that throws ends with a 500 reply', async () => {
    async function* later(): AsyncGenerator<Delivery, { code: number; message: string; data: unknown }> {
      await new Promise((r) => setTimeout(r, 5))
      yield { topic: 'mchat/group/g', payload: { n: 2 } }
      return { code: 504, message: 'Agent 响应超时', data: { msg_id: 'm1' } }
    }
    const text = await answer([{ topic: 'mchat/group/g', payload: { n: 1 } }], ok({ msg_id: 'm1' }), later()).text()
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { kind: 'delivery', topic: 'mchat/group/g', payload: { n: 1 } },
      { kind: 'delivery', topic: 'mchat/group/g', payload: { n: 2 } },
      { kind: 'reply', code: 504, message: 'Agent 响应超时', data: { msg_id: 'm1' } },
    ])
    // Nothing before it: the follow-up starts in the first pull, and a plain return keeps the reply.
    async function* quiet(): AsyncGenerator<Delivery, undefined> {}
    expect(await answer([], ok(1), quiet()).text()).toBe('{"kind":"reply","code":0,"message":"ok","data":1}\n')
    async function* broken(): AsyncGenerator<Delivery, undefined> {
      yield { topic: 'mchat/inbox/a', payload: 1 }
      throw new Error('boom')
    }
    const err = console.error
    console.error = () => {}
    try {
      expect(
        (await answer([], ok(1), broken()).text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).kind + (JSON.parse(l).code ?? '')),
      ).toEqual(['delivery', 'reply500'])
    } finally {
      console.error = err
    }
  })

  it('answers the reply alone when there is nothing to deliver', async () => {
    expect(await answer([], ok(null)).text()).toBe('{"kind":"reply","code":0,"message":"ok","data":null}\n')
  })
})
