import type { MqttConnection } from './mchat.ts'

/** What the sign-in form collects: an employee's mqtt_connection plus where and as which device. */
export interface Credentials {
  brokerUrl: string
  employeeId: string
  password: string
  deviceId: string
  clientIdScheme: string
}

export const DEFAULT_SCHEME = '{employee_id}.{device_id}'
export const DEFAULT_DEVICE = 'admin-web'
const KEY = 'mchat.admin.credentials'

export function rememberedCredentials(): Credentials | null {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return null
    const c = JSON.parse(raw) as Partial<Credentials>
    if (typeof c.brokerUrl !== 'string' || typeof c.employeeId !== 'string' || typeof c.password !== 'string')
      return null
    return {
      brokerUrl: c.brokerUrl,
      employeeId: c.employeeId,
      password: c.password,
      deviceId: c.deviceId || DEFAULT_DEVICE,
      clientIdScheme: c.clientIdScheme || DEFAULT_SCHEME,
    }
  } catch {
    return null
  }
}

export function remember(c: Credentials): void {
  localStorage.setItem(KEY, JSON.stringify(c))
}

export function forget(): void {
  try {
    localStorage.removeItem(KEY)
  } catch {
    // Storage may be disabled; then nothing was remembered either.
  }
}

/** The SDK wants an mqtt_connection; in a browser the host and port come from the WebSocket URL. */
export function toConnection(c: Credentials): MqttConnection {
  const url = new URL(c.brokerUrl)
  const tls = url.protocol === 'wss:'
  return {
    broker_host: url.hostname,
    broker_port: Number(url.port || (tls ? 443 : 80)),
    use_tls: tls,
    mqtt_username: c.employeeId,
    mqtt_password: c.password,
    client_id_scheme: c.clientIdScheme,
  }
}

/**
 * Reads admin.json, an employee.create reply, or a bare mqtt_connection: whichever the admin has
 * at hand. Returns only the fields it found.
 */
export function parseCredentialsFile(text: string): Partial<Credentials> {
  const json = JSON.parse(text) as Record<string, unknown>
  const conn = (
    typeof json.mqtt_connection === 'object' && json.mqtt_connection !== null ? json.mqtt_connection : json
  ) as Record<string, unknown>
  const out: Partial<Credentials> = {}
  if (typeof conn.mqtt_username === 'string') out.employeeId = conn.mqtt_username
  if (typeof conn.mqtt_password === 'string') out.password = conn.mqtt_password
  if (typeof conn.client_id_scheme === 'string') out.clientIdScheme = conn.client_id_scheme
  if (!out.employeeId && typeof json.employee_id === 'string') out.employeeId = json.employee_id
  if (!out.employeeId && !out.password) throw new Error('no mqtt_connection in this file')
  return out
}
