import * as z from 'zod'
import { messageContent } from './content.ts'
import { employeeId, groupId, isoTime } from './ids.ts'

/**
 * AI agents as colleagues (seed 000 §2.1.1, §3.4, §7.3; seed 001 §2): the profile an agent is
 * created with, what MChat POSTs to its webhook and how that call is signed, what the agent
 * answers, and what the sender's reply says about each agent it reached. docs/agents.md tells
 * the whole story.
 */

/** Seconds an agent may take to answer: the seed's 15 by default, never more than 60. */
export const AGENT_RESPONSE_TIMEOUT = { default: 15, max: 60 } as const
/**
 * Wall time for every agent call one message causes, chains included: each call gets its own
 * response_timeout, cut to what is left of this. The relay waits a little longer (relay/config.ts).
 */
export const AGENT_CALL_BUDGET_MS = AGENT_RESPONSE_TIMEOUT.max * 1000
/** Agents one chain may call: the triggered one and at most two more named by `next_agent`. */
export const AGENT_MAX_HOPS = 3
/** Agents one message may trigger; further matches are ignored. */
export const AGENT_MAX_PER_MESSAGE = 5
/** What a sender may attach as `context_messages` (the server keeps no history to offer). */
export const CONTEXT_MESSAGES_MAX = 20
export const CONTEXT_MESSAGES_MAX_BYTES = 32 * 1024
/** An agent's answer body beyond this is malformed. */
export const AGENT_ANSWER_MAX_BYTES = 64 * 1024
/** The actions that may call agents: the relay gives them a longer timeout. */
export const AGENT_TRIGGER_ACTIONS: readonly string[] = ['msg.send_private', 'msg.send_group']

const profileFields = {
  model_type: z.string().trim().min(1).max(64),
  capabilities: z.array(z.string().trim().min(1).max(64)).max(32),
  trigger_keywords: z.array(z.string().trim().min(1).max(32)).max(16),
  // Whether it may be reached (https, public address) depends on the deployment's allow-list:
  // the workers check that (workers/lib/agents-webhook.ts).
  webhook_endpoint: z.url({ protocol: /^https?$/ }).max(2048),
  response_timeout: z.number().int().min(1).max(AGENT_RESPONSE_TIMEOUT.max),
  auto_join_groups: z.array(groupId).max(16),
  /** `webhook`: called over HTTP; `mqtt`: connects with its own mqtt_connection like any employee. */
  connection: z.enum(['webhook', 'mqtt']),
}

/**
 * The agent part of employee.create (seed 000 §2.1.1, seed 001 §2.1). Without `connection`, an
 * agent with a webhook_endpoint is a webhook agent and one without is MQTT-connected.
 */
export const agentProfile = z
  .strictObject({
    model_type: profileFields.model_type.optional(),
    capabilities: profileFields.capabilities.default([]),
    trigger_keywords: profileFields.trigger_keywords.default([]),
    webhook_endpoint: profileFields.webhook_endpoint.optional(),
    response_timeout: profileFields.response_timeout.default(AGENT_RESPONSE_TIMEOUT.default),
    auto_join_groups: profileFields.auto_join_groups.default([]),
    connection: profileFields.connection.optional(),
  })
  // An agent needs a webhook, or says it is connected over MQTT; never both.
  .superRefine((p, ctx) => {
    if (p.connection === 'webhook' && !p.webhook_endpoint) {
      ctx.addIssue({
        code: 'custom',
        message: 'required unless the agent is MQTT-connected (connection: "mqtt")',
        path: ['webhook_endpoint'],
      })
    }
    if (p.connection === 'mqtt' && p.webhook_endpoint) {
      ctx.addIssue({ code: 'custom', message: 'an MQTT-connected agent has no webhook_endpoint', path: ['connection'] })
    }
  })
export type AgentProfile = z.infer<typeof agentProfile>

/**
 * employee.update's `agent_profile`: the fields named replace the current ones, `null` clears an
 * optional one (a webhook_endpoint of null makes the agent MQTT-connected). auto_join_groups only
 * applies at creation; later memberships go through group.member_add.
 */
export const agentProfilePatch = z.strictObject({
  model_type: profileFields.model_type.nullable().optional(),
  capabilities: profileFields.capabilities.optional(),
  trigger_keywords: profileFields.trigger_keywords.optional(),
  webhook_endpoint: profileFields.webhook_endpoint.nullable().optional(),
  response_timeout: profileFields.response_timeout.optional(),
  connection: profileFields.connection.optional(),
})
export type AgentProfilePatch = z.infer<typeof agentProfilePatch>

/** A recent message the client attaches for the agent (seed 000 §3.4): forwarded, never stored. */
export const contextMessage = z.object({
  msg_id: z.string().min(1).max(64).optional(),
  from_employee_id: employeeId.optional(),
  content: messageContent,
  sent_at: isoTime.optional(),
})
export type ContextMessage = z.infer<typeof contextMessage>

const encoder = new TextEncoder()

/** `context_messages` of msg.send_private / msg.send_group. */
export const contextMessages = z
  .array(contextMessage)
  .max(CONTEXT_MESSAGES_MAX)
  .refine((m) => encoder.encode(JSON.stringify(m)).byteLength <= CONTEXT_MESSAGES_MAX_BYTES, {
    message: `larger than ${CONTEXT_MESSAGES_MAX_BYTES} bytes`,
  })

export const agentTriggerType = z.enum(['private', 'mention', 'keyword', 'next_agent'])
export type AgentTriggerType = z.infer<typeof agentTriggerType>

/** The body MChat POSTs to an agent's webhook. */
export const agentWebhookRequest = z.object({
  event: z.literal('message'),
  agent_id: employeeId,
  trigger: z.object({ type: agentTriggerType, keyword: z.string().optional(), from_agent_id: employeeId.optional() }),
  /** 1 for the triggered agent, 2 and 3 for those named by `next_agent`. */
  hop: z.number().int().min(1),
  max_hops: z.number().int().min(1),
  message: z.object({
    msg_id: z.string(),
    conversation_type: z.enum(['private', 'group']),
    group_id: groupId.optional(),
    from_employee_id: employeeId,
    to_employee_id: employeeId.optional(),
    content: messageContent,
    sent_at: isoTime,
  }),
  /** What the sender attached, then (for `next_agent`) the previous agents' answers. */
  context_messages: z.array(contextMessage),
})
export type AgentWebhookRequest = z.infer<typeof agentWebhookRequest>

/**
 * An agent's answer (HTTP 200, JSON; 204 means it chose to stay silent). `content` becomes a
 * message from the agent in the conversation; `handoff_to` names a human colleague whose inbox is
 * told; `next_agent` names the agent to call next with this answer as context.
 */
export const agentAnswer = z
  .object({
    content: messageContent.optional(),
    handoff_to: employeeId.optional(),
    next_agent: employeeId.optional(),
  })
  .refine(
    (a) => a.content !== undefined || a.handoff_to !== undefined || a.next_agent !== undefined,
    'needs content, handoff_to or next_agent',
  )
export type AgentAnswer = z.infer<typeof agentAnswer>

/** What became of one agent call, in the sender's reply (`data.agents`). */
export const agentOutcome = z.object({
  agent_id: employeeId,
  trigger: agentTriggerType,
  hop: z.number().int().min(1),
  /**
   * `pending` (only in a reply replayed while the calls run), `answered`, `silent` (204),
   * `timeout`, `rate_limited`, `failed` (HTTP error, malformed answer, address refused),
   * `refused` (not called: beyond the chain's bound, or not an agent that can be called).
   */
  status: z.enum(['pending', 'answered', 'silent', 'timeout', 'rate_limited', 'failed', 'refused']),
  /** The agent's message, when it answered with content. */
  msg_id: z.string().optional(),
  /** Sensitive words masked in the answer. */
  masked: z.number().int().optional(),
  handoff_to: employeeId.optional(),
  next_agent: employeeId.optional(),
  detail: z.string().optional(),
})
export type AgentOutcome = z.infer<typeof agentOutcome>

/** The reply's message for a sender whose agent did not answer in time (seed 002 §3.20). */
export const AGENT_TIMEOUT_MESSAGE = 'Agent 响应超时'

/**
 * How a call is signed: HMAC-SHA256, keyed with the agent's webhook secret (its UTF-8 bytes),
 * over `{timestamp}.{body}`; the timestamp is Unix seconds. An agent refuses a timestamp further
 * than AGENT_SIGNATURE_TOLERANCE_S from its clock, so a captured call cannot be replayed later.
 */
export const AGENT_HEADERS = {
  timestamp: 'x-mchat-timestamp',
  signature: 'x-mchat-signature',
  agent: 'x-mchat-agent-id',
  /** Unique per call (message, hop, agent): an agent may de-duplicate on it. */
  delivery: 'x-mchat-delivery-id',
} as const
export const AGENT_SIGNATURE_TOLERANCE_S = 300

async function hmacKey(secret: string, use: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [use])
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('')

/** The signature header's value: `v1=` and the hex HMAC. */
export async function signAgentCall(secret: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), encoder.encode(`${timestamp}.${body}`))
  return `v1=${hex(mac)}`
}

/** For agents: true when the headers sign this exact body with `secret`, recently. */
export async function verifyAgentCall(
  secret: string,
  headers: { timestamp: string | null; signature: string | null },
  body: string,
  nowMs: number = Date.now(),
): Promise<boolean> {
  const ts = Number(headers.timestamp)
  if (!headers.timestamp || !Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > AGENT_SIGNATURE_TOLERANCE_S)
    return false
  const m = /^v1=([0-9a-f]{64})$/.exec(headers.signature ?? '')
  if (!m) return false
  const mac = new Uint8Array(m[1]!.match(/../g)!.map((h) => parseInt(h, 16)))
  // subtle.verify compares in constant time.
  return crypto.subtle.verify('HMAC', await hmacKey(secret, 'verify'), mac, encoder.encode(`${ts}.${body}`))
}
