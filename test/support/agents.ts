import { expect } from 'vitest'
import type { Hono } from 'hono'
import type { AppEnv } from '../../workers/env.ts'
import { callAction, type WorkerHarness } from './workers.ts'

/**
 * An AI agent made through employee.create and bound as `{employee_id}.bot` (as an MQTT-connected
 * agent would): its webhook secret, if it has a webhook, and a client id to send with.
 */
export async function createAgent(
  app: Hono<AppEnv>,
  h: WorkerHarness,
  adminClient: string,
  employee_id: string,
  name: string,
  profile: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ employee_id: string; clientId: string; secret: string | undefined }> {
  const created = await callAction(app, h, 'employee.create', adminClient, {
    employee_id,
    name,
    is_ai_agent: true,
    agent_profile: profile,
    ...extra,
  })
  expect(created.reply.code, JSON.stringify(created.reply)).toBe(0)
  const clientId = `${employee_id}.bot`
  const bound = await callAction(app, h, 'auth.bind', clientId, {
    mqtt_password: created.reply.data.mqtt_connection.mqtt_password,
  })
  expect(bound.reply.code).toBe(0)
  return { employee_id, clientId, secret: created.reply.data.webhook_secret }
}
