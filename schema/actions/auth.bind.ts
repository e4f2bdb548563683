import * as z from 'zod'
import { employeeId } from '../ids.ts'
import { defineAction } from './define.ts'

/**
 * Binds the publishing client_id to an employee (seed 002 §3.1). The relay cannot see MQTT
 * credentials, so identity is proven with the `mqtt_password` token employee.create issued.
 */
export const authBind = defineAction({
  name: 'auth.bind',
  request: z.object({
    employee_id: employeeId.optional(),
    mqtt_password: z.string().min(1).max(4096),
    device_info: z.string().max(256).optional(),
  }),
  reply: z.object({ employee_id: employeeId }),
  session: 'none',
  effect: 'write',
  limit: 'management',
})
