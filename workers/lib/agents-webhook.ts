import { base64url } from 'jose'
import {
  AGENT_ANSWER_MAX_BYTES,
  AGENT_HEADERS,
  agentAnswer,
  describeZodError,
  signAgentCall,
  type AgentAnswer,
  type AgentWebhookRequest,
} from '../../schema/index.ts'
import type { Bindings } from '../env.ts'
import { credentialSecret } from './credentials.ts'

/**
 * An agent's webhook: where it may point (SSRF), the secret its calls are signed with, and the
 * call itself. Runtime-neutral: Web Crypto and fetch only.
 */

const hosts = (list: string | undefined) =>
  new Set(
    (list ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  )

/**
 * Why MChat must not call `raw`, or null. Only https, and never a literal private, loopback,
 * link-local, unique-local, CGNAT, documentation or metadata address nor a local name, unless the
 * host is in AGENT_WEBHOOK_ALLOW_HOSTS (development). A public name that resolves to a private
 * address (DNS rebinding) is out of reach here: a worker cannot resolve names (docs/agents.md).
 */
export function webhookAddressProblem(raw: string, allowHosts: string | undefined): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not a URL'
  }
  if (url.username || url.password) return 'must not carry credentials'
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  if (hosts(allowHosts).has(host))
    return url.protocol === 'https:' || url.protocol === 'http:' ? null : 'must be https://'
  if (url.protocol !== 'https:') return 'must be https:// (http:// only for hosts in AGENT_WEBHOOK_ALLOW_HOSTS)'
  const why = host.startsWith('[')
    ? ipv6Problem(host.slice(1, -1))
    : /^[\d.]+$/.test(host)
      ? ipv4Problem(v4(host))
      : nameProblem(host)
  return why && `refused: ${host} ${why} (for development, list it in AGENT_WEBHOOK_ALLOW_HOSTS)`
}

function nameProblem(host: string): string | null {
  if (/(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/.test(host)) return 'is a local name'
  if (!host.includes('.')) return 'is a single-label (local) name'
  return null
}

// Refused IPv4 ranges, `first/prefix kind` (RFC 6890 special-purpose, plus multicast and reserved).
const V4_REFUSED = (
  '0.0.0.0/8 this_network,10.0.0.0/8 private,100.64.0.0/10 carrier-grade_NAT,127.0.0.0/8 loopback,169.254.0.0/16 link-local_(cloud_metadata),' +
  '172.16.0.0/12 private,192.0.0.0/24 IETF_protocol_(metadata),192.0.2.0/24 documentation,192.88.99.0/24 6to4_relay,192.168.0.0/16 private,' +
  '198.18.0.0/15 benchmarking,198.51.100.0/24 documentation,203.0.113.0/24 documentation,224.0.0.0/4 multicast,240.0.0.0/4 reserved'
)
  .split(',')
  .map((r) => {
    const [net, kind] = r.split(' ') as [string, string]
    const [first, bits] = net.split('/') as [string, string]
    return { first: v4(first), size: 2 ** (32 - Number(bits)), kind: kind.replace(/_/g, ' ') }
  })

function v4(dotted: string): number {
  return dotted.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

function ipv4Problem(n: number): string | null {
  const hit = V4_REFUSED.find((r) => n >= r.first && n < r.first + r.size)
  return hit ? `is a ${hit.kind} address` : null
}

/** The eight 16-bit groups of an IPv6 address as the URL parser writes it (hex, `::` compressed). */
function groups(v6: string): number[] {
  const [head, tail] = v6.includes('::') ? v6.split('::') : [v6, undefined]
  const hex = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const h = hex(head)
  const t = hex(tail)
  return tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
}

function ipv6Problem(v6: string): string | null {
  const g = groups(v6)
  const embedded = (hi: number, lo: number) => ipv4Problem(hi * 65536 + lo)
  if (g.every((x) => x === 0)) return 'is the unspecified address'
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'is a loopback address'
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0))
    return embedded(g[6]!, g[7]!) ?? 'embeds an IPv4 address'
  if (g[0] === 0x64 && g[1] === 0xff9b) return embedded(g[6]!, g[7]!) ?? 'is a NAT64 address'
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!) ?? null
  if ((g[0]! & 0xfe00) === 0xfc00) return 'is a unique-local (private) address'
  if ((g[0]! & 0xffc0) === 0xfe80 || (g[0]! & 0xffc0) === 0xfec0) return 'is a link-local address'
  if ((g[0]! & 0xff00) === 0xff00) return 'is a multicast address'
  if (g[0] === 0x2001 && (g[1] === 0x0db8 || g[1] === 0)) return 'is a documentation or Teredo address'
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return 'is a discard address'
  return null
}

const encoder = new TextEncoder()

/**
 * The webhook signing secret of an agent, at a version: an HMAC of the employee and the version
 * under CREDENTIAL_SECRET (labelled apart from the MQTT passwords). Nothing is stored, a replayed
 * employee.create answers with the same secret, and bumping the version rotates it.
 */
export async function webhookSecret(env: Bindings, employeeId: string, version: number): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    credentialSecret(env) as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = await crypto.subtle.sign(
    'HMAC',
    key,
    encoder.encode(`mchat-agent-webhook\u0000${employeeId}\u0000${version}`),
  )
  return `whsec_${base64url.encode(new Uint8Array(mac))}`
}

export type CallResult =
  | { kind: 'answer'; answer: AgentAnswer }
  | { kind: 'silent' }
  | { kind: 'timeout' }
  | { kind: 'failed'; detail: string }

/**
 * One signed POST, bounded by `timeoutMs` (headers and body alike). Never throws: a redirect
 * (which could lead anywhere), an error status, a body too large or not an answer are `failed`.
 */
export async function callWebhook(
  url: string,
  request: AgentWebhookRequest,
  secret: string,
  timeoutMs: number,
  deliveryId: string,
): Promise<CallResult> {
  const body = JSON.stringify(request)
  const timestamp = Math.floor(Date.now() / 1000)
  const signal = AbortSignal.timeout(Math.max(1, timeoutMs))
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json',
        [AGENT_HEADERS.timestamp]: String(timestamp),
        [AGENT_HEADERS.signature]: await signAgentCall(secret, timestamp, body),
        [AGENT_HEADERS.agent]: request.agent_id,
        [AGENT_HEADERS.delivery]: deliveryId,
      },
    })
    if (res.status === 204) return await discard(res, { kind: 'silent' })
    if (res.status >= 300 && res.status < 400)
      return await discard(res, { kind: 'failed', detail: `redirect (HTTP ${res.status}) not followed` })
    if (!res.ok) return await discard(res, { kind: 'failed', detail: `HTTP ${res.status}` })
    const text = await readCapped(res)
    if (text === null) return { kind: 'failed', detail: `answer larger than ${AGENT_ANSWER_MAX_BYTES} bytes` }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return { kind: 'failed', detail: 'malformed answer: not JSON' }
    }
    const parsed = agentAnswer.safeParse(json)
    return parsed.success
      ? { kind: 'answer', answer: parsed.data }
      : { kind: 'failed', detail: `malformed answer: ${describeZodError(parsed.error)}` }
  } catch (err) {
    if (signal.aborted) return { kind: 'timeout' }
    const e = err as { cause?: { code?: string }; message?: string }
    return { kind: 'failed', detail: `unreachable (${e.cause?.code ?? e.message ?? 'network error'})` }
  }
}

async function discard<T>(res: Response, result: T): Promise<T> {
  await res.body?.cancel().catch(() => {})
  return result
}

async function readCapped(res: Response): Promise<string | null> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    if ((size += r.value.byteLength) > AGENT_ANSWER_MAX_BYTES) {
      await reader.cancel().catch(() => {})
      return null
    }
    text += decoder.decode(r.value, { stream: true })
  }
  return text + decoder.decode()
}
