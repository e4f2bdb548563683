import { GetObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { describe, expect, it } from 'vitest'
import { fileDownloadUrl } from '../../schema/index.ts'
import { referenceClient, signedAt, withLocalS3 } from '../../test/support/files.ts'
import { callAction, challengeFor, createAndBind, createGroup, type WorkerHarness } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()
withLocalS3(s, { S3_URL_MAX_TTL_SECONDS: '900' })

/** Asks for an upload URL as `clientId` and puts `text` there; the key and its object URL. */
async function upload(h: WorkerHarness, clientId: string, text: string, conversation: Record<string, unknown> = {}) {
  const a = await callAction(app, h, 'file.upload_url', clientId, {
    file_name: 'note.txt',
    content_type: 'text/plain',
    size: new TextEncoder().encode(text).byteLength,
    ...conversation,
  })
  if (a.reply.code !== 0) throw new Error(JSON.stringify(a.reply))
  const put = await fetch(a.reply.data.url, { method: 'PUT', headers: a.reply.data.headers, body: text })
  if (put.status !== 200) throw new Error(`PUT ${put.status}`)
  return { key: a.reply.data.key as string, object_url: a.reply.data.object_url as string }
}

async function download(clientId: string, payload: Record<string, unknown>) {
  return callAction(app, s.h, 'file.download_url', clientId, payload)
}

async function read(clientId: string, payload: Record<string, unknown>): Promise<string> {
  const a = await download(clientId, payload)
  if (a.reply.code !== 0) throw new Error(JSON.stringify(a.reply))
  return (await fetch(fileDownloadUrl.reply.parse(a.reply.data).url)).text()
}

const NOT_YOURS = 'key: you may read only your own files and those shared in conversations you belong to'

describe('file.download_url', () => {
  it('one’s own files: a GET URL identical to the AWS SDK’s; another employee’s key is refused', async () => {
    const me = await createAndBind(app, s.h, s.admin, { name: 'Me', employee_id: 'fd_me' })
    const other = await createAndBind(app, s.h, s.admin, { name: 'Other', employee_id: 'fd_other' })
    const mine = await upload(s.h, me.clientId, 'mine')
    const a = await download(me.clientId, { key: mine.key })
    expect(a.reply.code).toBe(0)
    const d = fileDownloadUrl.reply.parse(a.reply.data)
    expect(d.key).toBe(mine.key)
    const { date, expiresIn } = signedAt(d.url)
    expect(Date.parse(d.expires_at)).toBe(date.getTime() + expiresIn * 1000)
    expect(d.url).toBe(
      await getSignedUrl(referenceClient(s.h.env), new GetObjectCommand({ Bucket: 'mchat-files', Key: mine.key }), {
        expiresIn,
        signingDate: date,
      }),
    )
    const got = await fetch(d.url)
    expect([got.status, got.headers.get('content-type'), await got.text()]).toEqual([200, 'text/plain', 'mine'])

    const refused = await download(other.clientId, { key: mine.key })
    expect([refused.reply.code, refused.reply.message, refused.reply.data]).toEqual([403, NOT_YOURS, null])
    expect((await download(other.clientId, { url: mine.object_url })).reply.code).toBe(403)
  })

  it('a private chat’s files: both employees read them, nobody else', async () => {
    const a = await createAndBind(app, s.h, s.admin, { name: 'A', employee_id: 'fd_pa' })
    const b = await createAndBind(app, s.h, s.admin, { name: 'B', employee_id: 'fd_pb' })
    const c = await createAndBind(app, s.h, s.admin, { name: 'C', employee_id: 'fd_pc' })
    const f = await upload(s.h, b.clientId, 'for a', { conversation_type: 'private', peer_employee_id: a.employee_id })
    expect(await read(a.clientId, { url: f.object_url })).toBe('for a')
    expect(await read(b.clientId, { key: f.key })).toBe('for a')
    const third = await download(c.clientId, { key: f.key })
    expect([third.reply.code, third.reply.message]).toEqual([403, NOT_YOURS])
    // Org admins are no exception: messages are private to their conversation.
    expect((await download(s.admin, { key: f.key })).reply.code).toBe(403)
  })

  it('a group’s files: current members only, checked now; the uploader keeps their own; dismissed groups are gone', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'fd_owner' })
    const m1 = await createAndBind(app, s.h, s.admin, { name: 'M1', employee_id: 'fd_m1' })
    const m2 = await createAndBind(app, s.h, s.admin, { name: 'M2', employee_id: 'fd_m2' })
    const out = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'fd_out' })
    const group = await createGroup(app, s.h, owner.clientId, 'files', [m1.employee_id, m2.employee_id])
    const f = await upload(s.h, m1.clientId, 'to the group', { conversation_type: 'group', group_id: group })

    expect(await read(m2.clientId, { url: f.object_url })).toBe('to the group')
    expect(await read(owner.clientId, { key: f.key })).toBe('to the group')
    expect((await download(out.clientId, { key: f.key })).reply).toMatchObject({ code: 403, message: NOT_YOURS })

    // Leaving takes the group's files with it, except one's own uploads.
    for (const who of [m1, m2]) {
      const left = await callAction(app, s.h, 'group.member_remove', who.clientId, {
        group_id: group,
        member_ids: [who.employee_id],
      })
      expect(left.reply.code).toBe(0)
    }
    expect((await download(m2.clientId, { key: f.key })).reply).toMatchObject({ code: 403, message: NOT_YOURS })
    expect(await read(m1.clientId, { key: f.key })).toBe('to the group')

    expect(
      (
        await callAction(app, s.h, 'group.dismiss', owner.clientId, {
          group_id: group,
          ...(await challengeFor(app, s.h, owner.clientId)),
        })
      ).reply.code,
    ).toBe(0)
    expect((await download(owner.clientId, { key: f.key })).reply).toMatchObject({
      code: 404,
      message: 'key: the group was dismissed',
    })
    expect((await download(owner.clientId, { key: 'g/grp_nowhere/fd_owner2/f_1/x' })).reply).toMatchObject({
      code: 404,
      message: 'key: no such group',
    })
  })

  it('refuses keys MChat never hands out, URLs of other stores, and an expiry beyond the maximum', async () => {
    const me = await createAndBind(app, s.h, s.admin, { name: 'Shape', employee_id: 'fd_shape' })
    const f = await upload(s.h, me.clientId, 'x')
    const cases: Array<[Record<string, unknown>, number, string | RegExp]> = [
      [{ key: 'u/fd_shape/../fd_other/x' }, 400, 'key: not a key MChat hands out'],
      [{ key: 'avatars/fd_shape.png' }, 400, 'key: not a key MChat hands out'],
      [{ url: 'https://elsewhere.example.com/mchat-files/u/fd_shape/x' }, 400, 'url: not an object URL of this store'],
      [{ key: f.key, expires_in: 901 }, 400, 'expires_in: at most 900 seconds'],
      [{ key: f.key, url: f.object_url }, 400, /^key: give either key or url/],
      [{}, 400, /^key: give either key or url/],
    ]
    for (const [payload, code, message] of cases) {
      const a = await download(me.clientId, payload)
      expect(a.reply.code, JSON.stringify(payload)).toBe(code)
      expect(a.reply.message).toMatch(message)
    }
    const longest = await download(me.clientId, { key: f.key, expires_in: 900 })
    expect(signedAt(longest.reply.data.url).expiresIn).toBe(900)
  })
})
