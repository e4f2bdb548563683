import * as z from 'zod'
import { isoTime } from './ids.ts'

/**
 * Retained on mchat/status/{employee_id} (seed 002 §3.17): published `online` by the client after
 * connecting, `offline` by the broker as the client's last will.
 */
export const presenceStatus = z.object({
  status: z.enum(['online', 'offline']),
  updated_at: isoTime,
  device: z.string().max(64).optional(),
  client_id: z.string().max(128).optional(),
})
export type PresenceStatus = z.infer<typeof presenceStatus>
