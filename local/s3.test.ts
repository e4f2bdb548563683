import { mkdtemp, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startLocalS3 } from './s3.ts'

describe('local S3 (s3rver)', () => {
  it('serves its bucket path-style, lets a browser origin PUT (CORS preflight), and removes its temporary directory', async () => {
    const s3 = await startLocalS3()
    try {
      expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const url = `${s3.endpoint}/${s3.bucket}/u/emp_a/f_1/a.txt`
      const preflight = await fetch(url, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type',
        },
      })
      expect(preflight.status).toBe(200)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
      expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT')
      expect(
        (await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello' })).status,
      ).toBe(200)
      const got = await fetch(url, { headers: { origin: 'https://app.example.com' } })
      expect([got.status, await got.text(), got.headers.get('access-control-allow-origin')]).toEqual([
        200,
        'hello',
        '*',
      ])
      expect((await stat(s3.directory)).isDirectory()).toBe(true)
    } finally {
      await s3.close()
    }
    await expect(stat(s3.directory)).rejects.toThrow(/ENOENT/)
  })

  it('keeps objects in a given directory across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mchat-s3-keep-'))
    try {
      const a = await startLocalS3({ directory: dir })
      expect((await fetch(`${a.endpoint}/${a.bucket}/u/emp_a/k`, { method: 'PUT', body: 'kept' })).status).toBe(200)
      await a.close()
      const b = await startLocalS3({ directory: dir })
      try {
        expect(await (await fetch(`${b.endpoint}/${b.bucket}/u/emp_a/k`)).text()).toBe('kept')
      } finally {
        await b.close()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a taken port is one readable line', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    try {
      await expect(startLocalS3({ port })).rejects.toThrow(`S3 (s3rver): port ${port} on 127.0.0.1 is already in use`)
    } finally {
      blocker.close()
    }
  })
})
