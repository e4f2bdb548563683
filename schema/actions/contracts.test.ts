import * as z from 'zod'
import { describe, expect, it } from 'vitest'
import { ACTION_NAMES, actions } from './index.ts'

/** The top-level request fields of a contract, through refinements and unions. */
function fieldsOf(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape)
  if (schema instanceof z.ZodDiscriminatedUnion || schema instanceof z.ZodUnion)
    return (schema.options as z.ZodType[]).flatMap(fieldsOf)
  if (schema instanceof z.ZodPipe) return fieldsOf(schema.in as z.ZodType)
  throw new Error(`cannot list the fields of a ${schema.constructor.name}`)
}

describe('action contracts', () => {
  it('never define the envelope’s own fields (a payload has one `action` and one `seq_id`)', () => {
    for (const name of ACTION_NAMES) {
      const fields = fieldsOf(actions[name].request)
      expect(
        fields.filter((f) => f === 'action' || f === 'seq_id'),
        name,
      ).toEqual([])
    }
  })

  it('name every action once, by the name its contract carries', () => {
    for (const [key, contract] of Object.entries(actions)) expect(contract.name).toBe(key)
    expect(new Set(ACTION_NAMES).size).toBe(23)
  })
})
