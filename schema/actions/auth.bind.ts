import * as z from 'zod'
import { employeeId } from '../ids.ts'
import { defineAction } from './define.ts'

/**
 * Binds the publishing client_id to an employee (seed 002 §3.1). The relay cannot see MQTT
 * credentials, so identity is proven with the `mqtt_password` token employee.create issued — or,
 * where the broker itself checks that password and ties client ids to employees (the broker
 * hooks, BROKER_ENFORCES_IDENTITY), by the client id alone, as in the seed's example.
 */
export const authBind = defineAction({
  name: 'auth.bind',
  request: z.object({
    employee_id: employeeId.optional(),
    mqtt_password: z.string().min(1).max(4096).optional(),
    device_info: z.string().max(256).optional(),
  }),
  reply: z.object({ employee_id: employeeId }),
  session: 'none',
  effect: 'write',
  limit: 'management',
})
