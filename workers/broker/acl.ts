import {
  clientIdMayName,
  employeeOfClientId,
  groupId as groupIdSchema,
  inboxTopic,
  levelProblem,
  OPS_TOPIC_PREFIX,
  parseRequestTopic,
  profileTopic,
  REPLY_PREFIX,
  SERVICE_IDENTITY,
  statusTopic,
  SYSTEM_NOTIFY_TOPIC,
  type AuthzRequest,
} from '../../schema/index.ts'

/**
 * Seed 000 §5.2 as one decision per (client, topic, action). `group` means the answer depends on
 * whether the employee belongs to that live group, which only the database knows.
 */
export type AclDecision = { result: 'allow' | 'deny' } | { result: 'group'; employeeId: string; groupId: string }

const STATUS_FILTER = 'mchat/status/+'

export function decide(req: AuthzRequest): AclDecision {
  const { username, clientid, topic, action } = req
  // The broker asks only about connections it authenticated, so the username is proven.
  if (username === SERVICE_IDENTITY.relayUsername) return allow
  if (username.startsWith(SERVICE_IDENTITY.opsPrefix)) return topic.startsWith(OPS_TOPIC_PREFIX) ? allow : deny

  // authn admitted this (username, client id) pair, longest-owner rule included; the form is rechecked.
  if (!clientIdMayName(clientid, username)) return deny
  const employee = username
  if (action === 'publish') {
    const req = parseRequestTopic(topic)
    if (req.ok && req.client_id === clientid) return allow
    return topic === statusTopic(employee) ? allow : deny
  }
  if (topic.startsWith(REPLY_PREFIX)) {
    // Replies to its own client id, or to any dot-form id of its employee: a command-line user
    // reads with one client (mosquitto_sub) what another (mosquitto_pub) asked. Never another
    // underscore-form id: `emp_1` must not read `emp_1_x_phone`'s replies, which may be emp_1_x's.
    const [cid, last, ...more] = topic.slice(REPLY_PREFIX.length).split('/')
    const own = cid !== undefined && (cid === clientid || employeeOfClientId(cid) === employee)
    return own && more.length === 0 && last !== undefined && (last === '+' || levelProblem('seq_id', last) === null)
      ? allow
      : deny
  }
  if (
    topic === inboxTopic(employee) ||
    topic === profileTopic(employee) ||
    topic === SYSTEM_NOTIFY_TOPIC ||
    topic === STATUS_FILTER
  )
    return allow
  const parts = topic.split('/')
  if (
    parts.length === 3 &&
    parts[0] === 'mchat' &&
    parts[1] === 'status' &&
    levelProblem('client_id', parts[2]!) === null
  )
    return allow
  if (parts.length === 3 && parts[0] === 'mchat' && parts[1] === 'group' && groupIdSchema.safeParse(parts[2]).success) {
    return { result: 'group', employeeId: employee, groupId: parts[2]! }
  }
  return deny
}

const allow = { result: 'allow' } as const
const deny = { result: 'deny' } as const
