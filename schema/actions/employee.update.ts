import * as z from 'zod'
import { agentProfilePatch } from '../agents.ts'
import { departmentId, employeeId, isoTime } from '../ids.ts'
import { challengeFields } from './auth.challenge.ts'
import { employeeFields, employeeRole, employeeStatus, mqttConnection } from './employee.create.ts'
import { defineAction } from './define.ts'

/**
 * Changing `role` or `status`, or rotating the MQTT credentials, is sensitive: it needs a
 * challenge (seed 000 §6.2), so a stolen session alone cannot lock the owner out.
 */
export const SENSITIVE_EMPLOYEE_FIELDS = ['role', 'status', 'rotate_credentials'] as const

export const employeeUpdates = z
  .strictObject({
    name: employeeFields.name.optional(),
    department_id: departmentId.nullable().optional(),
    manager_id: employeeId.nullable().optional(),
    skills_badge: employeeFields.skills_badge.optional(),
    role: employeeRole.optional(),
    status: employeeStatus.optional(),
    /** A new mqtt_password: the old one stops working and the employee's connections are dropped. */
    rotate_credentials: z.literal(true).optional(),
    // AI agents (docs/agents.md): false clears the profile; the profile's named fields replace the current ones.
    is_ai_agent: z.boolean().optional(),
    agent_profile: agentProfilePatch.optional(),
    /** A new webhook signing secret (in the reply): the previous one stops working. */
    rotate_webhook_secret: z.literal(true).optional(),
  })
  .refine((u) => Object.values(u).some((v) => v !== undefined), 'must change at least one field')

export const employeeUpdate = defineAction({
  name: 'employee.update',
  request: z.object({ employee_id: employeeId, updates: employeeUpdates, ...challengeFields }),
  reply: z.object({
    employee_id: employeeId,
    updated_at: isoTime,
    /** Only after rotate_credentials: the new credentials, shown this once. */
    mqtt_connection: mqttConnection.optional(),
    credential_version: z.number().int().positive().optional(),
    /** Only when rotated, or for an agent that just got a webhook: the signing secret, shown this once. */
    webhook_secret: z.string().optional(),
    webhook_secret_version: z.number().int().positive().optional(),
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})

/** Delivered on mchat/profile/{employee_id} (seed 002 §3.18). */
export const profileChange = z.object({
  employee_id: employeeId,
  event: z.literal('updated'),
  fields: z.array(z.string()),
  profile: z.object({
    name: z.string(),
    department_id: departmentId.nullable(),
    manager_id: employeeId.nullable(),
    is_ai_agent: z.boolean(),
    skills_badge: z.array(z.string()),
    status: employeeStatus,
  }),
  updated_at: isoTime,
})
export type ProfileChange = z.infer<typeof profileChange>
