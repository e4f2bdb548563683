import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'

export interface LocalKeys {
  /** The relay signs with the private key; workers get only the public one. */
  relayPrivateJwk: string
  relayPublicJwk: string
  credentialSecret: string
}

export async function generateKeys(): Promise<LocalKeys> {
  const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true })
  return {
    relayPrivateJwk: JSON.stringify(await exportJWK(privateKey)),
    relayPublicJwk: JSON.stringify(await exportJWK(publicKey)),
    credentialSecret: randomBytes(32).toString('base64url'),
  }
}

/** Keys persist in the data dir so issued credentials survive a restart. */
export async function loadOrCreateKeys(dataDir: string): Promise<LocalKeys> {
  const file = join(dataDir, 'keys.json')
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LocalKeys
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${file} is unreadable: ${(err as Error).message}`, { cause: err })
  }
  const keys = await generateKeys()
  await writeFile(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 })
  return keys
}
