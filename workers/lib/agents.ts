import {
  AGENT_CALL_BUDGET_MS,
  AGENT_MAX_HOPS,
  AGENT_MAX_PER_MESSAGE,
  AGENT_RESPONSE_TIMEOUT,
  AGENT_TIMEOUT_MESSAGE,
  CONTEXT_MESSAGES_MAX,
  groupTopic,
  inboxTopic,
  newId,
  ok,
  type AgentOutcome,
  type AgentTriggerType,
  type AgentWebhookRequest,
  type ContextMessage,
  type Delivery,
  type MessageContent,
  type Reply,
} from '../../schema/index.ts'
import type { Caller } from '../env.ts'
import { deliver, type FollowUp, type FollowUpContext } from './action.ts'
import { callWebhook, webhookAddressProblem, webhookSecret } from './agents-webhook.ts'
import type { Sql } from './db.ts'
import { notice } from './notices.ts'
import { checkRateLimit } from './rate-limit.ts'

/**
 * AI agents in a conversation (seed 000 §3.4, §7.3; seed 001 §2): which agents a message
 * triggers, calling them after the message went out, turning their answers into messages from
 * them, and everything that can go wrong on the way into notices. docs/agents.md.
 */

type SendAction = 'msg.send_private' | 'msg.send_group'

/** An agent as the admission statement or a lookup reads it. */
interface AgentRow {
  employee_id: string
  name: string
  profile: unknown
  secret_version: number
}

/** What a call needs of an agent. */
interface Agent {
  employee_id: string
  name: string
  webhook: string
  timeoutS: number
  keywords: string[]
  secretVersion: number
}

// A profile that does not fit (written around the contract) is skipped, not a fault.
function toAgent(row: AgentRow): Agent | null {
  const p = row.profile as { webhook_endpoint?: unknown; response_timeout?: unknown; trigger_keywords?: unknown } | null
  if (typeof p?.webhook_endpoint !== 'string') return null
  const timeout = Number(p.response_timeout)
  return {
    employee_id: row.employee_id,
    name: row.name,
    webhook: p.webhook_endpoint,
    timeoutS: timeout > 0 ? timeout : AGENT_RESPONSE_TIMEOUT.default,
    keywords: Array.isArray(p.trigger_keywords)
      ? p.trigger_keywords.filter((k): k is string => typeof k === 'string')
      : [],
    secretVersion: row.secret_version,
  }
}

const AGENT_JSON = `json_build_object('employee_id', e.employee_id, 'name', e.name, 'profile', e.agent_profile, 'secret_version', e.webhook_secret_version)`
// Webhook agents other than the sender: an agent's own messages never trigger it.
const CALLABLE = `e.is_ai_agent AND e.status = 'active' AND e.agent_profile ->> 'webhook_endpoint' IS NOT NULL AND e.employee_id <> (SELECT employee_id FROM caller)`
const CALLER_IS_AGENT = `coalesce((SELECT is_ai_agent FROM employee WHERE employee_id = (SELECT employee_id FROM caller)), false)`
const extraJson = (where: string) =>
  `json_build_object('caller_is_agent', ${CALLER_IS_AGENT}, 'agents',
     (SELECT coalesce(json_agg(${AGENT_JSON} ORDER BY e.employee_id), '[]'::json) FROM employee e WHERE ${CALLABLE} AND ${where}))`

/** The gate's `extra` for a group ($6): its member agents. Nothing of the message goes to the database. */
export const groupAgentsSql = extraJson(
  'EXISTS (SELECT 1 FROM group_member m WHERE m.group_id = $6 AND m.employee_id = e.employee_id)',
)

/**
 * The gate's `extra` for a private message to $6: the recipient if it is an agent, and agents an
 * `@` may name. $7 holds only the words right after each `@` (mentionTokens), never the message.
 */
export const privateAgentsSql = extraJson(
  '(e.employee_id = $6 OR EXISTS (SELECT 1 FROM unnest($7::text[]) t WHERE starts_with(t, e.employee_id) OR starts_with(lower(t), lower(e.name))))',
)

/** The text of a message that triggers can match: a string, or a text message's body. */
export function textOf(content: MessageContent): string {
  if (typeof content === 'string') return content
  if (content.type !== 'text') return ''
  return typeof content.body === 'string' ? content.body : content.body.text
}

/** What follows each `@`, up to white space (names may hold any character): candidates for a mention. */
export function mentionTokens(text: string): string[] {
  const tokens = new Set<string>()
  for (const m of text.matchAll(/@([^\s@]{1,64})/gu)) tokens.add(m[1]!)
  return [...tokens].slice(0, 20)
}

const ID_CHAR = /[A-Za-z0-9_-]/

function mentions(text: string, agent: Agent): boolean {
  for (let at = text.indexOf(`@${agent.employee_id}`); at >= 0; at = text.indexOf(`@${agent.employee_id}`, at + 1)) {
    if (!ID_CHAR.test(text.charAt(at + 1 + agent.employee_id.length))) return true
  }
  return text.toLowerCase().includes(`@${agent.name.toLowerCase()}`)
}

export interface Trigger {
  type: AgentTriggerType
  keyword?: string
  from_agent_id?: string
}

/**
 * Who a message triggers: the agent it is sent to, every agent `@`-mentioned by id or name, and
 * (only for a human's message, so agents' chatter cannot set off a storm) every agent one of whose
 * trigger_keywords it contains. Candidates come from the database already limited to callable
 * agents in reach (the group's members; for a private message the recipient and those mentioned).
 */
export function findTriggers(
  text: string,
  rows: AgentRow[],
  o: { recipient?: string; callerIsAgent: boolean },
): Array<{ agent: Agent; trigger: Trigger }> {
  const lower = text.toLowerCase()
  const found: Array<{ agent: Agent; trigger: Trigger }> = []
  for (const row of rows) {
    const agent = toAgent(row)
    if (!agent) continue
    let trigger: Trigger | null = null
    if (agent.employee_id === o.recipient) trigger = { type: 'private' }
    else if (mentions(text, agent)) trigger = { type: 'mention' }
    else if (!o.callerIsAgent) {
      const keyword = agent.keywords.find((k) => k && lower.includes(k.toLowerCase()))
      if (keyword) trigger = { type: 'keyword', keyword }
    }
    if (trigger) found.push({ agent, trigger })
  }
  return found.slice(0, AGENT_MAX_PER_MESSAGE)
}

/** Masks each of AGENT_BLOCKED_WORDS (case-insensitive) with one `*` per character. */
export function maskWords(
  content: MessageContent,
  blocked: string | undefined,
): { content: MessageContent; masked: number } {
  const words = (blocked ?? '')
    .split(/[,\n]/)
    .map((w) => w.trim())
    .filter(Boolean)
  if (words.length === 0) return { content, masked: 0 }
  const pattern = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu')
  let masked = 0
  const mask = (s: string) =>
    s.replace(pattern, (m) => {
      masked++
      return '*'.repeat([...m].length)
    })
  if (typeof content === 'string') return { content: mask(content), masked }
  if (content.type === 'text') {
    const body = typeof content.body === 'string' ? mask(content.body) : { text: mask(content.body.text) }
    return { content: { ...content, body }, masked }
  }
  if (content.type === 'file')
    return { content: { ...content, body: { ...content.body, name: mask(content.body.name) } }, masked }
  return { content, masked }
}

/** Where one conversation's agent answers and notices go. */
export interface Conversation {
  type: 'private' | 'group'
  group_id?: string
  /** The private recipient. */
  to?: string
}

/** Kept with the stored reply so a replay re-sends the same notices; never content. */
interface AgentFacts {
  notices: Delivery[]
  handoffs: Array<{ to: string; agent_id: string; hop: number; at: string }>
}

/** The conversation's topic: the group, or the asker's own inbox for a private chat. */
const topicOf = (conv: Conversation, caller: Caller) =>
  conv.type === 'group' ? groupTopic(conv.group_id!) : inboxTopic(caller.employee_id)

function handoffNotice(
  h: AgentFacts['handoffs'][number],
  conv: Conversation,
  caller: Caller,
  msg: { msg_id: string; sent_at: string },
  content: MessageContent,
): Delivery {
  return deliver(
    inboxTopic(h.to),
    notice('agent_handoff', `${msg.msg_id}_${h.hop}_${h.agent_id}`, h.at, {
      agent_id: h.agent_id,
      conversation_type: conv.type,
      ...(conv.group_id ? { group_id: conv.group_id } : {}),
      from_employee_id: caller.employee_id,
      msg_id: msg.msg_id,
      content,
      sent_at: msg.sent_at,
    }),
  )
}

/** On a replay: the notices and handoffs of the first time, the same ids (agents are not called again). */
export function* agentReplay(
  conv: Conversation,
  caller: Caller,
  msg: { msg_id: string; sent_at: string },
  content: MessageContent,
  facts: unknown,
): Generator<Delivery> {
  const f = facts as AgentFacts | null
  if (!f?.notices) return
  yield* f.notices
  for (const h of f.handoffs) yield handoffNotice(h, conv, caller, msg, content)
}

const AGENT_ROW_SQL = `SELECT employee_id, name, is_ai_agent, status, agent_profile AS profile, webhook_secret_version AS secret_version FROM employee WHERE employee_id = $1`

async function lookup(sql: Sql, id: string): Promise<(AgentRow & { is_ai_agent: boolean; status: string }) | null> {
  return (
    ((await sql.query(AGENT_ROW_SQL, [id]))[0] as (AgentRow & { is_ai_agent: boolean; status: string }) | undefined) ??
    null
  )
}

/**
 * The follow-up of msg.send_private / msg.send_group: null when the message triggers no agent
 * (the request stays one round trip). Otherwise each triggered agent's chain runs in parallel;
 * answers and notices stream out as they come; the reply lists every call's outcome and is 504
 * if any agent timed out. The outcome is stored over the admitted reply, so a replay answers
 * with it and calls nobody.
 */
export function agentFollowUp<A extends SendAction>(ctx: FollowUpContext<A>, conv: Conversation): FollowUp | null {
  const extra = ctx.extra as { caller_is_agent: boolean; agents: AgentRow[] } | null
  if (!extra || extra.agents.length === 0) return null
  const triggered = findTriggers(textOf(ctx.input.content), extra.agents, {
    ...(conv.to ? { recipient: conv.to } : {}),
    callerIsAgent: extra.caller_is_agent,
  })
  if (triggered.length === 0) return null
  return run(ctx, conv, triggered)
}

async function* run<A extends SendAction>(
  ctx: FollowUpContext<A>,
  conv: Conversation,
  triggered: Array<{ agent: Agent; trigger: Trigger }>,
): AsyncGenerator<Delivery, Reply> {
  const { input, caller, call, env, sql } = ctx
  const data = ctx.data as { msg_id: string; sent_at: string }
  const deadline = Date.now() + AGENT_CALL_BUDGET_MS
  const topic = topicOf(conv, caller)
  const chains: AgentOutcome[][] = triggered.map(({ agent, trigger }) => [
    { agent_id: agent.employee_id, trigger: trigger.type, hop: 1, status: 'pending' },
  ])
  const facts: AgentFacts = { notices: [], handoffs: [] }
  const store = (reply: Reply, withFacts: boolean) =>
    sql
      .query(
        `UPDATE request_reply SET reply = $3::jsonb${withFacts ? ', facts = $4::jsonb' : ''} WHERE client_id = $1 AND seq_id = $2`,
        [call.clientId, call.seqId, JSON.stringify(reply), ...(withFacts ? [JSON.stringify(facts)] : [])],
      )
      .catch((err: Error) => console.error(`storing the agents' outcome failed: ${err.message}`))
  // A repeat that comes while the agents work hears they are pending, and calls nobody.
  const marked = store(ok({ ...ctx.data, agents: chains.flat() }), false)

  const out: Delivery[] = []
  let wake: (() => void) | undefined
  const emit = (d: Delivery) => {
    out.push(d)
    wake?.()
  }
  const notify = (
    type: 'agent_timeout' | 'agent_rate_limited' | 'agent_failed' | 'agent_chain_limit',
    agentId: string,
    hop: number,
    detail?: string,
  ) => {
    const body = {
      agent_id: agentId,
      msg_id: data.msg_id,
      conversation_type: conv.type,
      ...(conv.group_id ? { group_id: conv.group_id } : {}),
      ...(detail ? { detail } : {}),
    }
    const d = deliver(topic, notice(type, `${data.msg_id}_${hop}_${agentId}`, new Date().toISOString(), body))
    facts.notices.push(d)
    emit(d)
  }
  const message = {
    msg_id: data.msg_id,
    conversation_type: conv.type,
    ...(conv.group_id ? { group_id: conv.group_id } : {}),
    from_employee_id: caller.employee_id,
    ...(conv.to ? { to_employee_id: conv.to } : {}),
    content: input.content,
    sent_at: data.sent_at,
  }

  /** One call: the address, the agent's limit, the webhook; its answer delivered. */
  async function invoke(agent: Agent, trigger: Trigger, hop: number, context: ContextMessage[]) {
    const base = { agent_id: agent.employee_id, trigger: trigger.type, hop }
    const refused = webhookAddressProblem(agent.webhook, env.AGENT_WEBHOOK_ALLOW_HOSTS)
    if (refused) {
      notify('agent_failed', agent.employee_id, hop, `webhook_endpoint ${refused}`)
      return { outcome: { ...base, status: 'failed', detail: `webhook_endpoint ${refused}` } as AgentOutcome }
    }
    const verdict = await checkRateLimit(env, 'agent', agent.employee_id, call.action)
    if (!verdict.allowed) {
      notify('agent_rate_limited', agent.employee_id, hop)
      return {
        outcome: {
          ...base,
          status: 'rate_limited',
          ...(verdict.reason === 'limited' ? {} : { detail: 'rate limiter unavailable' }),
        } as AgentOutcome,
      }
    }
    const request: AgentWebhookRequest = {
      event: 'message',
      agent_id: agent.employee_id,
      trigger,
      hop,
      max_hops: AGENT_MAX_HOPS,
      message,
      context_messages: context,
    }
    const timeoutMs = Math.min(agent.timeoutS * 1000, deadline - Date.now())
    const secret = await webhookSecret(env, agent.employee_id, agent.secretVersion)
    const result =
      timeoutMs > 0
        ? await callWebhook(agent.webhook, request, secret, timeoutMs, `${data.msg_id}.${hop}.${agent.employee_id}`)
        : ({ kind: 'timeout' } as const)
    if (result.kind === 'timeout') {
      notify('agent_timeout', agent.employee_id, hop)
      return { outcome: { ...base, status: 'timeout' } as AgentOutcome }
    }
    if (result.kind === 'failed') {
      notify('agent_failed', agent.employee_id, hop, result.detail)
      return { outcome: { ...base, status: 'failed', detail: result.detail } as AgentOutcome }
    }
    if (result.kind === 'silent') return { outcome: { ...base, status: 'silent' } as AgentOutcome }
    const answer = result.answer
    const outcome: AgentOutcome = { ...base, status: 'answered' }
    let said: ContextMessage | undefined
    if (answer.content !== undefined) {
      const { content, masked } = maskWords(answer.content, env.AGENT_BLOCKED_WORDS)
      const reply = { msg_id: newId('msg'), sent_at: new Date().toISOString() }
      emit(
        conv.type === 'group'
          ? deliver(topic, {
              msg_id: reply.msg_id,
              group_id: conv.group_id,
              from_employee_id: agent.employee_id,
              content,
              sent_at: reply.sent_at,
            })
          : deliver(topic, {
              msg_id: reply.msg_id,
              type: 'private',
              from_employee_id: agent.employee_id,
              to_employee_id: caller.employee_id,
              content,
              sent_at: reply.sent_at,
            }),
      )
      outcome.msg_id = reply.msg_id
      if (masked > 0) outcome.masked = masked
      said = { ...reply, from_employee_id: agent.employee_id, content }
    }
    if (answer.handoff_to !== undefined) {
      const human = await lookup(sql, answer.handoff_to)
      if (human && human.status === 'active' && !human.is_ai_agent) {
        const h = { to: human.employee_id, agent_id: agent.employee_id, hop, at: new Date().toISOString() }
        facts.handoffs.push(h)
        emit(handoffNotice(h, conv, caller, data, input.content))
        outcome.handoff_to = human.employee_id
      } else {
        outcome.detail = `handoff_to ${answer.handoff_to}: not an active human employee`
        notify('agent_failed', agent.employee_id, hop, outcome.detail)
      }
    }
    if (answer.next_agent !== undefined) outcome.next_agent = answer.next_agent
    return { outcome, said, next: answer.next_agent }
  }

  /** A triggered agent, then those its answers name with next_agent, at most AGENT_MAX_HOPS in all. */
  async function chain(first: { agent: Agent; trigger: Trigger }, outcomes: AgentOutcome[]) {
    let { agent, trigger } = first
    let context = [...(input.context_messages ?? [])]
    for (let hop = 1; ; hop++) {
      const { outcome, said, next } = await invoke(agent, trigger, hop, context)
      outcomes[hop - 1] = outcome
      if (next === undefined) return
      let problem: string | null = null
      let following: Agent | null = null
      if (hop >= AGENT_MAX_HOPS) problem = `at most ${AGENT_MAX_HOPS} agents in a chain`
      else if (next === agent.employee_id) problem = 'an agent cannot hand on to itself'
      else {
        const row = await lookup(sql, next)
        following = row && row.is_ai_agent && row.status === 'active' ? toAgent(row) : null
        if (!following) problem = 'not an active agent with a webhook'
      }
      if (problem || !following) {
        outcomes.push({ agent_id: next, trigger: 'next_agent', hop: hop + 1, status: 'refused', detail: problem! })
        notify(hop >= AGENT_MAX_HOPS ? 'agent_chain_limit' : 'agent_failed', next, hop + 1, problem!)
        return
      }
      if (said) context = [...context, said].slice(-CONTEXT_MESSAGES_MAX)
      trigger = { type: 'next_agent', from_agent_id: agent.employee_id }
      agent = following
      outcomes.push({ agent_id: agent.employee_id, trigger: 'next_agent', hop: hop + 1, status: 'pending' })
    }
  }

  let open = triggered.length
  triggered.forEach((t, i) => {
    chain(t, chains[i]!)
      .catch((err: Error) => {
        // A fault of ours must not cost the conversation its other answers.
        console.error(err)
        const last = chains[i]!.at(-1)!
        if (last.status === 'pending') Object.assign(last, { status: 'failed', detail: 'internal error' })
      })
      .finally(() => {
        open--
        wake?.()
      })
  })
  while (open > 0 || out.length > 0) {
    if (out.length > 0) {
      yield out.shift()!
      continue
    }
    await new Promise<void>((r) => (wake = r))
    wake = undefined
  }

  const agents = chains.flat()
  const done = { ...ctx.data, agents }
  const reply: Reply = agents.some((o) => o.status === 'timeout')
    ? { code: 504, message: AGENT_TIMEOUT_MESSAGE, data: done }
    : ok(done)
  await marked
  await store(reply, true)
  return reply
}
