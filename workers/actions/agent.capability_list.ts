import type { z } from 'zod'
import type { agentProfileSummary } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'

type Profile = z.infer<typeof agentProfileSummary>

/**
 * Seed 002 §3.15: the active AI agents, or those with `skill` among their capabilities or badges:
 * the whole word, in any letter case (`order lookup` finds `Order Lookup`).
 */
export default defineHandler({
  action: 'agent.capability_list',
  async load(input, sql) {
    // agent_profile is free-form jsonb: only its capabilities' strings count (and are answered),
    // so a malformed profile (an object, numbers) neither matches by key nor breaks the contract.
    return (await sql.query(
      `SELECT employee_id, name, capabilities, to_json(skills_badge) AS skills_badge
         FROM (SELECT employee_id, name, skills_badge,
                      coalesce(jsonb_path_query_array(agent_profile -> 'capabilities', '$[*] ? (@.type() == "string")'), '[]'::jsonb) AS capabilities
                 FROM employee
                WHERE is_ai_agent AND status = 'active') agent
        WHERE $1::text IS NULL
           OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(capabilities) c WHERE lower(c) = lower($1))
           OR EXISTS (SELECT 1 FROM unnest(skills_badge) b WHERE lower(b) = lower($1))
        ORDER BY employee_id`,
      [input.skill ?? null],
    )) as Profile[]
  },
  async handle({ input, loaded: agent_profiles }) {
    return {
      data: {
        ...(input.skill === undefined ? {} : { skill: input.skill }),
        agent_ids: agent_profiles.map((p) => p.employee_id),
        agent_profiles,
      },
    }
  },
})
