export interface RuntimeConfig {
  /** The broker's MQTT-over-WebSocket URL offered on the sign-in screen. */
  brokerUrl: string
}

/**
 * The built files carry no addresses, so the same build can sit on any CDN: whoever serves it
 * puts a config.json beside index.html (local/web.ts answers one itself).
 */
export async function loadConfig(): Promise<RuntimeConfig> {
  try {
    const res = await fetch('./config.json', { cache: 'no-store' })
    if (res.ok) {
      const body = (await res.json()) as { brokerUrl?: unknown }
      if (typeof body.brokerUrl === 'string' && body.brokerUrl) return { brokerUrl: body.brokerUrl }
    }
  } catch {
    // No config.json: fall back to the conventional listener on the page's own host.
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return { brokerUrl: `${scheme}://${location.hostname || '127.0.0.1'}:8083/mqtt` }
}
