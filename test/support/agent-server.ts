import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { listen } from '../../local/ports.ts'
import { AGENT_HEADERS, agentWebhookRequest, verifyAgentCall, type AgentWebhookRequest } from '../../schema/index.ts'

export interface AgentCall {
  body: AgentWebhookRequest
  raw: string
  headers: Record<string, string>
  /** Whether the call verified with the secret the test gave (if it gave one). */
  verified: boolean | null
}

export interface TestAgentServer {
  /** A webhook_endpoint for one agent id: `{url}/{agent_id}`. */
  url: string
  endpoint(agentId: string): string
  calls: AgentCall[]
  callsFor(agentId: string): AgentCall[]
  close(): Promise<void>
}

/**
 * A stand-in agent for tests: records every call (checking its signature against `secretOf`) and
 * answers what `respond` returns: an object is sent as JSON, null as 204, a Response as is. A
 * `respond` that waits is a slow agent.
 */
export async function startAgentServer(
  respond: (call: AgentWebhookRequest, agentId: string) => unknown | Promise<unknown>,
  secretOf: (agentId: string) => string | undefined = () => undefined,
): Promise<TestAgentServer> {
  const calls: AgentCall[] = []
  const server = createAdaptorServer({
    fetch: async (req: Request) => {
      const raw = await req.text()
      const agentId = new URL(req.url).pathname.slice(1)
      const secret = secretOf(agentId)
      const headers = Object.fromEntries(req.headers.entries())
      const verified =
        secret === undefined
          ? null
          : await verifyAgentCall(
              secret,
              {
                timestamp: req.headers.get(AGENT_HEADERS.timestamp),
                signature: req.headers.get(AGENT_HEADERS.signature),
              },
              raw,
            )
      const body = agentWebhookRequest.parse(JSON.parse(raw))
      calls.push({ body, raw, headers, verified })
      const out = await respond(body, agentId)
      if (out instanceof Response) return out
      return out === null || out === undefined ? new Response(null, { status: 204 }) : Response.json(out)
    },
  }) as Server
  const port = await listen(server, 0, '127.0.0.1', 'test agent')
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    endpoint: (agentId) => `${url}/${agentId}`,
    calls,
    callsFor: (agentId) => calls.filter((c) => c.body.agent_id === agentId),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
