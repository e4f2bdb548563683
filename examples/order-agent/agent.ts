import {
  AGENT_HEADERS,
  agentWebhookRequest,
  verifyAgentCall,
  type AgentAnswer,
  type AgentWebhookRequest,
  type MessageContent,
} from '../../schema/index.ts'
import fixture from './orders.json' with { type: 'json' }

/**
 * An example MChat agent: a sales assistant that looks orders up in a small fixture. It is a
 * plain fetch handler (Request → Response), so it runs on Node (main.ts), in tests in-process, or
 * on any runtime with Web standards. It trusts nothing that is not signed with its webhook secret.
 */

export interface Order {
  order_id: string
  customer: string
  status: string
  amount: number
  carrier?: string
  tracking_no?: string
  eta?: string
  note?: string
}

export interface OrderAgentOptions {
  /** The webhook_secret employee.create returned, or a lookup by agent id (several agents, one server). */
  secret: string | ((agentId: string) => string | undefined)
  orders?: Order[]
  /** A human colleague to hand a conversation to when someone asks for a person (转人工). */
  handoffTo?: string
  /** Told about each verified call (logs, tests). */
  onCall?: (call: AgentWebhookRequest) => void
}

const ORDER_ID = /SO-?(\d{4,})/i

function textOf(content: MessageContent): string {
  if (typeof content === 'string') return content
  if (content.type !== 'text') return ''
  return typeof content.body === 'string' ? content.body : content.body.text
}

/** What the agent says to one message: the order asked for, or the last one the context names. */
export function answerFor(call: AgentWebhookRequest, orders: Order[], handoffTo?: string): AgentAnswer | null {
  const text = textOf(call.message.content)
  if (/转人工|人工客服/.test(text)) {
    return handoffTo
      ? { content: '好的，已为您转接人工客服，请稍候。', handoff_to: handoffTo }
      : { content: '抱歉，暂时没有可转接的人工客服。' }
  }
  const asked =
    ORDER_ID.exec(text) ??
    [...call.context_messages]
      .reverse()
      .map((m) => ORDER_ID.exec(textOf(m.content)))
      .find(Boolean)
  if (!asked) return /订单/.test(text) ? { content: '请告诉我订单号，例如 SO-1001。' } : null
  const id = `SO-${asked[1]}`
  const o = orders.find((x) => x.order_id === id)
  if (!o) return { content: `没有找到订单 ${id}，请核对订单号。` }
  const parts = [`订单 ${o.order_id}（${o.customer}）：${o.status}`, `金额 ¥${o.amount.toLocaleString('zh-CN')}`]
  if (o.carrier) parts.push(`${o.carrier} ${o.tracking_no ?? ''}`.trim())
  if (o.eta) parts.push(`预计 ${o.eta} 送达`)
  if (o.note) parts.push(`备注：${o.note}`)
  return { content: parts.join('，') + '。' }
}

export function createOrderAgent(options: OrderAgentOptions): (req: Request) => Promise<Response> {
  const orders = options.orders ?? (fixture as Order[])
  const secretOf = typeof options.secret === 'string' ? () => options.secret as string : options.secret
  return async (req) => {
    if (req.method !== 'POST') return new Response('POST only', { status: 405 })
    // Verified over the exact bytes received, before parsing anything.
    const body = await req.text()
    const secret = secretOf(req.headers.get(AGENT_HEADERS.agent) ?? '')
    const headers = {
      timestamp: req.headers.get(AGENT_HEADERS.timestamp),
      signature: req.headers.get(AGENT_HEADERS.signature),
    }
    if (!secret || !(await verifyAgentCall(secret, headers, body)))
      return new Response('bad signature', { status: 401 })
    let call: AgentWebhookRequest
    try {
      call = agentWebhookRequest.parse(JSON.parse(body))
    } catch {
      return new Response('not an MChat call', { status: 400 })
    }
    // The body is signed too: an agent id header that disagrees with it is a forgery attempt.
    if (call.agent_id !== req.headers.get(AGENT_HEADERS.agent))
      return new Response('agent id mismatch', { status: 401 })
    options.onCall?.(call)
    const answer = answerFor(call, orders, options.handoffTo)
    return answer ? Response.json(answer) : new Response(null, { status: 204 })
  }
}
