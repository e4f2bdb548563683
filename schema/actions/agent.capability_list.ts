import * as z from 'zod'
import { employeeId } from '../ids.ts'
import { defineAction } from './define.ts'

export const agentProfileSummary = z.object({
  employee_id: employeeId,
  name: z.string(),
  capabilities: z.array(z.string()),
  skills_badge: z.array(z.string()),
})

/** Seed 002 §3.15: active AI agents, optionally those with `skill` among their capabilities or badges. */
export const agentCapabilityList = defineAction({
  name: 'agent.capability_list',
  request: z.object({ skill: z.string().trim().min(1).max(64).optional() }),
  reply: z.object({
    skill: z.string().optional(),
    agent_ids: z.array(employeeId),
    agent_profiles: z.array(agentProfileSummary),
  }),
  session: 'required',
  effect: 'read',
  limit: 'management',
})
