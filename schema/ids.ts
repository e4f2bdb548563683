import * as z from 'zod'

/**
 * Entity ids are topic levels and parts of client ids, so they exclude `/ + #` (MQTT), `.` (the
 * client-id scheme's separator) and anything a shell would need quoting for.
 */
const ID = /^[A-Za-z0-9_-]+$/

export const entityId = (what: string) =>
  z.string().min(1).max(64).regex(ID, `${what} may contain only letters, digits, _ and -`)

export const employeeId = entityId('employee_id')
export const departmentId = entityId('department_id')
export const groupId = entityId('group_id')
export const deviceId = entityId('device_id').max(48)

/** What newId('msg') makes: a message is never stored, so a msg_id is checked by its form alone. */
export const msgId = z.string().regex(/^msg_[0-9a-f]{24}$/, 'must be a msg_id (msg_ and 24 hex digits)')

export const isoTime = z.iso.datetime({ offset: true })

/** Random id with a readable prefix: `emp_3f9c…`. 96 bits of randomness. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return `${prefix}_${hex}`
}
