import { deviceId, employeeId } from './ids.ts'

/** Every MQTT topic MChat uses (seed 002 §1.1, §2.3, §2.4) is built or parsed here and nowhere else. */

export const LIMITS = { clientIdMax: 128, seqIdMax: 64 } as const

export const REQUEST_FILTER = 'mchat/msg/req/+/+'
export const REPLY_PREFIX = 'mchat/msg/resp/'
export const SYSTEM_NOTIFY_TOPIC = 'mchat/system/notify'

export const sharedRequestFilter = (group: string) => `$share/${group}/${REQUEST_FILTER}`
export const requestTopic = (clientId: string, seqId: string) => `mchat/msg/req/${clientId}/${seqId}`
export const replyTopic = (clientId: string, seqId: string) => `${REPLY_PREFIX}${clientId}/${seqId}`
export const replyFilter = (clientId: string) => `${REPLY_PREFIX}${clientId}/+`
export const inboxTopic = (employeeId: string) => `mchat/inbox/${employeeId}`
export const groupTopic = (groupId: string) => `mchat/group/${groupId}`
export const profileTopic = (employeeId: string) => `mchat/profile/${employeeId}`
export const statusTopic = (employeeId: string) => `mchat/status/${employeeId}`
/** Only ops identities and relays publish or subscribe under here (docs/broker-security.md). */
export const OPS_TOPIC_PREFIX = 'mchat/ops/'
/** Where relays announce canary rollbacks and promotions, per action (retained: the last verdict). */
export const opsCanaryTopic = (action: string) => `${OPS_TOPIC_PREFIX}canary/${action}`
/** The whole route table (relay/routes.ts) the relays of a share group follow, retained: ops identities and relays publish it. */
export const OPS_ROUTES_TOPIC = `${OPS_TOPIC_PREFIX}routes`

// No wildcard or separator, no control characters or whitespace (they break logs and shells).
const LEVEL = /^[^/+#\s\u0000-\u001f\u007f]+$/

/** Why `value` cannot be a client_id / seq_id topic level, or null if it can. */
export function levelProblem(name: 'client_id' | 'seq_id', value: string): string | null {
  const max = name === 'client_id' ? LIMITS.clientIdMax : LIMITS.seqIdMax
  if (value.length === 0) return `${name} is empty`
  if (value.length > max) return `${name} is longer than ${max} characters`
  if (!LEVEL.test(value)) return `${name} contains a character that is not allowed (/, +, #, whitespace or control)`
  return null
}

export type ParsedRequestTopic =
  { ok: true; client_id: string; seq_id: string } | { ok: false; error: string; client_id?: string; seq_id?: string }

export function parseRequestTopic(topic: string): ParsedRequestTopic {
  const parts = topic.split('/')
  if (parts.length !== 5 || parts[0] !== 'mchat' || parts[1] !== 'msg' || parts[2] !== 'req') {
    return { ok: false, error: 'not a request topic (mchat/msg/req/{client_id}/{seq_id})' }
  }
  const client_id = parts[3]!
  const seq_id = parts[4]!
  const error = levelProblem('client_id', client_id) ?? levelProblem('seq_id', seq_id)
  return error ? { ok: false, error, client_id, seq_id } : { ok: true, client_id, seq_id }
}

/** A worker may only ask for these namespaces (DESIGN contract 5); replies are the relay's alone. */
export function isDeliveryTopic(topic: string): boolean {
  if (topic === SYSTEM_NOTIFY_TOPIC) return true
  const parts = topic.split('/')
  if (parts.length !== 3 || parts[0] !== 'mchat') return false
  if (parts[1] !== 'inbox' && parts[1] !== 'group' && parts[1] !== 'profile') return false
  return LEVEL.test(parts[2]!) && parts[2]!.length <= 64
}

/** The client-id scheme handed out in `mqtt_connection`: one employee, many devices. */
export const CLIENT_ID_SCHEME = '{employee_id}.{device_id}'
/**
 * Seed 000 §4.1's form, also accepted. Employee ids may hold `_`, so `emp_1_x_phone` could be
 * emp_1's or emp_1_x's: it belongs to the longest existing employee id it starts with (then `_`),
 * which only the database knows (workers/lib/client-owner.ts).
 */
export const CLIENT_ID_SCHEME_UNDERSCORE = '{employee_id}_{device_id}'

export const clientIdFor = (employee: string, device: string) => `${employee}.${device}`

/** The employee a client id belongs to under the dot scheme, or null if it does not follow it. */
export function employeeOfClientId(clientId: string): string | null {
  const dot = clientId.indexOf('.')
  if (dot < 0) return null
  const emp = clientId.slice(0, dot)
  const dev = clientId.slice(dot + 1)
  return employeeId.safeParse(emp).success && deviceId.safeParse(dev).success ? emp : null
}

const UNDERSCORE_FORM = /^[A-Za-z0-9_-]+$/

/**
 * The employee ids an underscore-form client id could belong to, longest first: each prefix that
 * ends before a `_` and leaves a non-empty device part (`a_b_c` → `a_b`, `a`). Empty for a
 * dot-form id or anything else.
 */
export function underscoreCandidates(clientId: string): string[] {
  if (clientId.length > LIMITS.clientIdMax || !UNDERSCORE_FORM.test(clientId)) return []
  const out: string[] = []
  for (let i = clientId.lastIndexOf('_'); i > 0; i = clientId.lastIndexOf('_', i - 1)) {
    const emp = clientId.slice(0, i)
    if (i < clientId.length - 1 && employeeId.safeParse(emp).success) out.push(emp)
  }
  return out
}

/**
 * Whether `clientId` can name `employee` by its form alone: the dot form exactly, the underscore
 * form as one of its candidates. For the underscore form this is necessary, not sufficient: the
 * broker's authn hook and auth.bind also require that no longer employee id claims it.
 */
export function clientIdMayName(clientId: string, employee: string): boolean {
  return employeeOfClientId(clientId) === employee || underscoreCandidates(clientId).includes(employee)
}
