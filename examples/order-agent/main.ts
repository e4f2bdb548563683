import { serveOrderAgent } from './server.ts'

/**
 * `npm run agent:example`: the order agent on ORDER_AGENT_HOST:ORDER_AGENT_PORT (127.0.0.1:8790).
 * ORDER_AGENT_SECRET is the webhook_secret employee.create returned for the agent;
 * ORDER_AGENT_HANDOFF_TO the employee_id of a human who takes over on 转人工.
 */
const secret = process.env.ORDER_AGENT_SECRET
if (!secret) {
  console.error(
    'order agent: set ORDER_AGENT_SECRET to the webhook_secret employee.create returned (README, "An AI colleague")',
  )
  process.exit(2)
}
const port = Number(process.env.ORDER_AGENT_PORT || 8790)
serveOrderAgent({
  secret,
  port,
  host: process.env.ORDER_AGENT_HOST || '127.0.0.1',
  ...(process.env.ORDER_AGENT_HANDOFF_TO ? { handoffTo: process.env.ORDER_AGENT_HANDOFF_TO } : {}),
  onCall: (c) =>
    console.log(
      JSON.stringify({
        event: 'call',
        agent_id: c.agent_id,
        trigger: c.trigger.type,
        hop: c.hop,
        msg_id: c.message.msg_id,
      }),
    ),
}).then(
  (a) => console.log(`order agent listening: webhook_endpoint ${a.url}`),
  (err: Error) => {
    console.error(`order agent failed to start: ${err.message}`)
    process.exit(1)
  },
)
