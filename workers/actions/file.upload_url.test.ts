import { PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { describe, expect, it } from 'vitest'
import { fileUploadUrl, parseObjectKey } from '../../schema/index.ts'
import { referenceClient, signedAt, withLocalS3 } from '../../test/support/files.ts'
import { callAction, challengeFor, createAndBind, createGroup } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()
const local = withLocalS3(s, { S3_UPLOAD_MAX_BYTES: '1048576', S3_URL_MAX_TTL_SECONDS: '900' })

const pdf = { file_name: '报告.pdf', content_type: 'application/pdf', size: 12 }

describe('file.upload_url', () => {
  it('seed §3.16: a PUT URL for a new object under the caller’s own prefix, identical to the AWS SDK’s', async () => {
    const me = await createAndBind(app, s.h, s.admin, { name: 'Up', employee_id: 'fu_me' })
    const a = await callAction(app, s.h, 'file.upload_url', me.clientId, pdf)
    expect(a.reply.code, a.reply.message).toBe(0)
    const d = fileUploadUrl.reply.parse(a.reply.data)
    expect(d.key).toMatch(/^u\/fu_me\/f_[0-9a-f]{24}\/报告\.pdf$/)
    expect(parseObjectKey(d.key)).toEqual({ kind: 'own', owner: 'fu_me' })
    expect(d.method).toBe('PUT')
    expect(d.headers).toEqual({ 'Content-Type': 'application/pdf' })
    expect(d.object_url).toBe(`${local.s3.endpoint}/mchat-files/${d.key.split('/').map(encodeURIComponent).join('/')}`)
    const { date, expiresIn } = signedAt(d.url)
    expect(expiresIn).toBe(300)
    expect(Date.parse(d.expires_at)).toBe(date.getTime() + 300_000)

    const sdk = await getSignedUrl(
      referenceClient(s.h.env),
      new PutObjectCommand({ Bucket: 'mchat-files', Key: d.key, ContentType: 'application/pdf', ContentLength: 12 }),
      {
        expiresIn: 300,
        signingDate: date,
        signableHeaders: new Set(['content-type', 'content-length']),
      },
    )
    expect(d.url).toBe(sdk)

    const put = await fetch(d.url, {
      method: 'PUT',
      headers: d.headers,
      body: new TextEncoder().encode('%PDF-1.7 xyz'),
    })
    expect(put.status).toBe(200)
    const again = await callAction(app, s.h, 'file.upload_url', me.clientId, pdf)
    expect(again.reply.data.key).not.toBe(d.key)
  })

  it('a private chat’s upload goes under the pair, whoever sends it; the peer must exist and be active', async () => {
    const a = await createAndBind(app, s.h, s.admin, { name: 'A', employee_id: 'fu_pb' })
    const b = await createAndBind(app, s.h, s.admin, { name: 'B', employee_id: 'fu_pa' })
    const r = await callAction(app, s.h, 'file.upload_url', a.clientId, {
      ...pdf,
      conversation_type: 'private',
      peer_employee_id: b.employee_id,
    })
    expect(r.reply.code, r.reply.message).toBe(0)
    expect(r.reply.data.key).toMatch(/^p\/fu_pa~fu_pb\/fu_pb\/f_[0-9a-f]{24}\/报告\.pdf$/)

    const ghost = await callAction(app, s.h, 'file.upload_url', a.clientId, {
      ...pdf,
      conversation_type: 'private',
      peer_employee_id: 'fu_ghost',
    })
    expect([ghost.reply.code, ghost.reply.message]).toEqual([404, 'peer_employee_id: no such employee'])
    await createAndBind(app, s.h, s.admin, { name: 'Off', employee_id: 'fu_off' })
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'fu_off'`)
    const off = await callAction(app, s.h, 'file.upload_url', a.clientId, {
      ...pdf,
      conversation_type: 'private',
      peer_employee_id: 'fu_off',
    })
    expect([off.reply.code, off.reply.message]).toEqual([403, 'peer_employee_id: the employee is disabled'])
    const self = await callAction(app, s.h, 'file.upload_url', a.clientId, {
      ...pdf,
      conversation_type: 'private',
      peer_employee_id: a.employee_id,
    })
    expect(self.reply.code).toBe(400)
  })

  it('a group’s upload needs a live group the caller belongs to', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'fu_owner' })
    const member = await createAndBind(app, s.h, s.admin, { name: 'Member', employee_id: 'fu_member' })
    const outsider = await createAndBind(app, s.h, s.admin, { name: 'Out', employee_id: 'fu_out' })
    const group = await createGroup(app, s.h, owner.clientId, 'files', [member.employee_id])
    const ok = await callAction(app, s.h, 'file.upload_url', member.clientId, {
      ...pdf,
      conversation_type: 'group',
      group_id: group,
    })
    expect(ok.reply.code, ok.reply.message).toBe(0)
    expect(parseObjectKey(ok.reply.data.key)).toEqual({ kind: 'group', group_id: group, uploader: 'fu_member' })

    const out = await callAction(app, s.h, 'file.upload_url', outsider.clientId, {
      ...pdf,
      conversation_type: 'group',
      group_id: group,
    })
    expect([out.reply.code, out.reply.message]).toEqual([403, 'group_id: only members can take part in this group'])
    const none = await callAction(app, s.h, 'file.upload_url', member.clientId, {
      ...pdf,
      conversation_type: 'group',
      group_id: 'grp_nowhere',
    })
    expect([none.reply.code, none.reply.message]).toEqual([404, 'group_id: no such group'])
    expect(
      (
        await callAction(app, s.h, 'group.dismiss', owner.clientId, {
          group_id: group,
          ...(await challengeFor(app, s.h, owner.clientId)),
        })
      ).reply.code,
    ).toBe(0)
    const gone = await callAction(app, s.h, 'file.upload_url', member.clientId, {
      ...pdf,
      conversation_type: 'group',
      group_id: group,
    })
    expect([gone.reply.code, gone.reply.message]).toEqual([404, 'group_id: the group was dismissed'])
  })

  it('refuses a disallowed content type, an oversized declared size and an expiry beyond the maximum', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...pdf, content_type: 'text/html' }, 'content_type: text/html is not accepted here'],
      [{ ...pdf, content_type: 'image/svg+xml' }, 'content_type: image/svg+xml is not accepted here'],
      [{ ...pdf, size: 1048577 }, 'size: larger than the limit of 1048576 bytes'],
      [{ ...pdf, expires_in: 901 }, 'expires_in: at most 900 seconds'],
    ]
    for (const [payload, message] of cases) {
      const a = await callAction(app, s.h, 'file.upload_url', s.admin, payload)
      expect([a.status, a.reply.code, a.reply.message, a.reply.data]).toEqual([400, 400, message, null])
    }
    // The limits themselves pass.
    expect(
      (await callAction(app, s.h, 'file.upload_url', s.admin, { ...pdf, size: 1048576, expires_in: 900 })).reply.code,
    ).toBe(0)
  })

  it('checks the request’s shape, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ content_type: 'image/png', size: 1 }, /^file_name: /],
      [{ ...pdf, content_type: 'text/plain; charset=utf-8' }, /^content_type: must be a MIME type/],
      [{ ...pdf, size: -1 }, /^size: /],
      [{ ...pdf, group_id: 'grp_1' }, /^conversation_type: required with/],
      [{ ...pdf, conversation_type: 'group' }, /^group_id: required/],
      [{ ...pdf, conversation_type: 'private', peer_employee_id: 'x', group_id: 'g' }, /^group_id: only with/],
      [{ ...pdf, expires_in: 604801 }, /^expires_in: /],
    ]
    for (const [payload, message] of cases) {
      const a = await callAction(app, s.h, 'file.upload_url', s.admin, payload)
      expect(a.reply.code, JSON.stringify(payload)).toBe(400)
      expect(a.reply.message).toMatch(message)
    }
  })

  it('keeps the file name one readable key segment and the content type as it must be sent', async () => {
    const a = await callAction(app, s.h, 'file.upload_url', s.admin, {
      file_name: '../../g/grp_x/a.png',
      content_type: 'Image/PNG',
      size: 3,
    })
    expect(a.reply.code).toBe(0)
    expect(a.reply.data.key).toMatch(/^u\/admin\/f_[0-9a-f]{24}\/\.\._\.\._g_grp_x_a\.png$/)
    expect(a.reply.data.headers).toEqual({ 'Content-Type': 'image/png' })
  })
})
