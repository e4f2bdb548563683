import * as z from 'zod'
import { agentProfile } from '../agents.ts'
import { departmentId, employeeId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

export const employeeRole = z.enum(['admin', 'member'])
export const employeeStatus = z.enum(['active', 'disabled'])

/** What a client needs to connect as this employee (seed 002 §3.3, seed 000 §4.1). */
export const mqttConnection = z.object({
  broker_host: z.string(),
  broker_port: z.number().int(),
  use_tls: z.boolean(),
  mqtt_username: z.string(),
  mqtt_password: z.string(),
  client_id_scheme: z.string(),
})
export type MqttConnection = z.infer<typeof mqttConnection>

/** Field rules shared by employee.create and employee.update. */
export const employeeFields = {
  name: z.string().trim().min(1).max(64),
  skills_badge: z.array(z.string().min(1).max(32)).max(16),
}

export const employeeCreate = defineAction({
  name: 'employee.create',
  request: z
    .object({
      employee_id: employeeId.optional(),
      name: employeeFields.name,
      is_ai_agent: z.boolean().default(false),
      department_id: departmentId.nullish(),
      manager_id: employeeId.nullish(),
      role: employeeRole.default('member'),
      skills_badge: employeeFields.skills_badge.default([]),
      agent_profile: agentProfile.optional(),
    })
    .refine((e) => e.is_ai_agent || e.agent_profile === undefined, {
      message: 'only AI agents have one (is_ai_agent: true)',
      path: ['agent_profile'],
    }),
  reply: z.object({
    employee_id: employeeId,
    name: z.string(),
    created_at: isoTime,
    mqtt_connection: mqttConnection,
    /** A webhook agent's signing secret (docs/agents.md): in this reply only, never stored. */
    webhook_secret: z.string().optional(),
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
