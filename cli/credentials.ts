import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { mqttConnection, type MqttConnection } from '../schema/index.ts'

export const dataDir = () => resolve(process.env.MCHAT_DATA_DIR || '.mchat')
export const adminFile = () => resolve(dataDir(), 'admin.json')

/**
 * An employee's connection from a JSON file: an `mqtt_connection`, or anything holding one
 * (admin.json, a saved employee.create reply). Default: the admin of the local system.
 */
export async function loadConnection(path = adminFile()): Promise<MqttConnection> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new Error(
      path === adminFile()
        ? `no ${path}: start the system first (mchat start), or pass --as <credentials.json>`
        : `cannot read ${path}`,
    )
  }
  let json: { mqtt_connection?: unknown } | null
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`${path} is not JSON`)
  }
  const found = mqttConnection.safeParse(json?.mqtt_connection ?? json)
  if (!found.success)
    throw new Error(`${path} holds no mqtt_connection (broker_host, broker_port, mqtt_username, mqtt_password, …)`)
  return found.data
}
