import { describe, expect, it } from 'vitest'
import { AGENT_SIGNATURE_TOLERANCE_S, signAgentCall, verifyAgentCall } from '../../schema/index.ts'
import { findTriggers, maskWords, mentionTokens } from './agents.ts'
import { webhookAddressProblem, webhookSecret } from './agents-webhook.ts'
import type { Bindings } from '../env.ts'

describe('webhook addresses (SSRF)', () => {
  it('accepts public https addresses', () => {
    for (const url of [
      'https://agent.example.com/callback',
      'https://93.184.216.34/hook',
      'https://[2606:4700::1111]/x',
      'https://agent.example.com:8443/a?b=c',
    ]) {
      expect(webhookAddressProblem(url, undefined), url).toBeNull()
    }
  })

  it('refuses http, credentials in the URL, and every local, private or metadata target', () => {
    const refused: Record<string, RegExp> = {
      'http://agent.example.com/cb': /https/,
      'https://user:pw@agent.example.com/': /credentials/,
      'https://127.0.0.1/': /loopback/,
      'https://127.8.9.10:8443/': /loopback/,
      // The URL parser turns these spellings into 127.0.0.1 before we look.
      'https://2130706433/': /loopback/,
      'https://0x7f.1/': /loopback/,
      'https://10.1.2.3/': /private/,
      'https://172.16.0.1/': /private/,
      'https://172.31.255.255/': /private/,
      'https://192.168.1.1/': /private/,
      'https://169.254.169.254/latest/meta-data': /link-local/,
      'https://100.100.100.200/': /carrier-grade NAT/,
      'https://192.0.0.192/': /IETF/,
      'https://0.0.0.0/': /this network/,
      'https://224.0.0.1/': /multicast/,
      'https://255.255.255.255/': /reserved/,
      'https://[::1]/': /loopback/,
      'https://[::]/': /unspecified/,
      'https://[::ffff:127.0.0.1]/': /loopback/,
      'https://[::ffff:10.0.0.1]/': /private/,
      'https://[64:ff9b::a9fe:a9fe]/': /link-local/,
      'https://[2002:c0a8:101::1]/': /private/,
      'https://[fd00:ec2::254]/': /unique-local/,
      'https://[fe80::1]/': /link-local/,
      'https://localhost/': /local name/,
      'https://api.localhost/': /local name/,
      'https://metadata.google.internal/': /local name/,
      'https://printer.local/': /local name/,
      'https://metadata/': /single-label/,
      'ftp://agent.example.com/': /https/,
      'not a url': /not a URL/,
    }
    for (const [url, why] of Object.entries(refused)) expect(webhookAddressProblem(url, undefined), url).toMatch(why)
  })

  it('the allow-list admits exactly the hosts it names, over http too', () => {
    const allow = '127.0.0.1, LocalHost'
    expect(webhookAddressProblem('http://127.0.0.1:8790/mchat', allow)).toBeNull()
    expect(webhookAddressProblem('https://localhost/x', allow)).toBeNull()
    expect(webhookAddressProblem('https://127.0.0.2/', allow)).toMatch(/loopback/)
    expect(webhookAddressProblem('http://10.0.0.1/', allow)).toMatch(/https/)
    expect(webhookAddressProblem('ftp://127.0.0.1/', allow)).toMatch(/https/)
  })
})

describe('webhook signatures', () => {
  const env = { CREDENTIAL_SECRET: 'x'.repeat(40) } as Bindings

  it('derives a stable secret per agent and version, different across both', async () => {
    const a1 = await webhookSecret(env, 'ai_a', 1)
    expect(a1).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
    expect(await webhookSecret(env, 'ai_a', 1)).toBe(a1)
    expect(await webhookSecret(env, 'ai_a', 2)).not.toBe(a1)
    expect(await webhookSecret(env, 'ai_b', 1)).not.toBe(a1)
    expect(await webhookSecret({ CREDENTIAL_SECRET: 'y'.repeat(40) } as Bindings, 'ai_a', 1)).not.toBe(a1)
  })

  it('verifies the exact body, with the right secret, within the replay window', async () => {
    const secret = await webhookSecret(env, 'ai_a', 1)
    const body = JSON.stringify({ hello: '查订单' })
    const now = Date.now()
    const ts = Math.floor(now / 1000)
    const signature = await signAgentCall(secret, ts, body)
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/)
    expect(await verifyAgentCall(secret, { timestamp: String(ts), signature }, body, now)).toBe(true)
    expect(await verifyAgentCall(secret, { timestamp: String(ts), signature }, body.replace('查', '改'), now)).toBe(
      false,
    )
    expect(
      await verifyAgentCall(await webhookSecret(env, 'ai_a', 2), { timestamp: String(ts), signature }, body, now),
    ).toBe(false)
    expect(await verifyAgentCall(secret, { timestamp: String(ts + 1), signature }, body, now)).toBe(false)
    expect(
      await verifyAgentCall(
        secret,
        { timestamp: String(ts), signature },
        body,
        now + (AGENT_SIGNATURE_TOLERANCE_S + 5) * 1000,
      ),
    ).toBe(false)
    expect(await verifyAgentCall(secret, { timestamp: null, signature }, body, now)).toBe(false)
    expect(await verifyAgentCall(secret, { timestamp: String(ts), signature: 'v1=00' }, body, now)).toBe(false)
  })
})

describe('triggers', () => {
  const row = (employee_id: string, name: string, trigger_keywords: string[] = [], webhook = true) => ({
    employee_id,
    name,
    secret_version: 1,
    profile: {
      capabilities: [],
      trigger_keywords,
      response_timeout: 15,
      ...(webhook ? { webhook_endpoint: `https://a.example.com/${employee_id}` } : {}),
    },
  })
  const sales = row('ai_sales_001', '销售小助', ['查订单', 'Order Status'])
  const hr = row('ai_hr', 'HR Bot', ['请假'])
  const ids = (t: ReturnType<typeof findTriggers>) =>
    t.map((x) => [x.agent.employee_id, x.trigger.type, x.trigger.keyword])

  it('a keyword (any letter case) reaches the agent; several agents may be triggered by one message', () => {
    expect(ids(findTriggers('帮我查订单 SO-1001', [sales, hr], { callerIsAgent: false }))).toEqual([
      ['ai_sales_001', 'keyword', '查订单'],
    ])
    expect(ids(findTriggers('what is my ORDER STATUS?', [sales], { callerIsAgent: false }))).toEqual([
      ['ai_sales_001', 'keyword', 'Order Status'],
    ])
    expect(ids(findTriggers('查订单，顺便请假', [sales, hr], { callerIsAgent: false }))).toEqual([
      ['ai_sales_001', 'keyword', '查订单'],
      ['ai_hr', 'keyword', '请假'],
    ])
    expect(findTriggers('今天天气不错', [sales, hr], { callerIsAgent: false })).toEqual([])
  })

  it('an @employee_id needs a boundary; an @name matches in any case; the recipient of a private message always', () => {
    expect(ids(findTriggers('@ai_sales_001，在吗', [sales], { callerIsAgent: false }))).toEqual([
      ['ai_sales_001', 'mention', undefined],
    ])
    expect(findTriggers('@ai_sales_0012 在吗', [sales], { callerIsAgent: false })).toEqual([])
    expect(ids(findTriggers('@hr bot 我想请假', [hr], { callerIsAgent: true }))).toEqual([
      ['ai_hr', 'mention', undefined],
    ])
    expect(ids(findTriggers('你好', [sales], { recipient: 'ai_sales_001', callerIsAgent: false }))).toEqual([
      ['ai_sales_001', 'private', undefined],
    ])
  })

  it('an agent’s message triggers others only by mention or addressing them, never by keyword', () => {
    expect(findTriggers('查订单', [sales], { callerIsAgent: true })).toEqual([])
    expect(ids(findTriggers('@销售小助 查订单', [sales], { callerIsAgent: true }))).toEqual([
      ['ai_sales_001', 'mention', undefined],
    ])
  })

  it('skips agents without a usable webhook profile', () => {
    expect(
      findTriggers(
        '@ai_x 查订单',
        [
          { ...row('ai_x', 'X', ['查订单'], false) },
          { employee_id: 'ai_y', name: 'Y', secret_version: 1, profile: 'broken' },
        ],
        { callerIsAgent: false },
      ),
    ).toEqual([])
  })

  it('mention tokens carry only what follows each @', () => {
    expect(mentionTokens('请 @销售小助 和 @ai_hr，看看 a@b 邮件')).toEqual(['销售小助', 'ai_hr，看看', 'b'])
    expect(mentionTokens('没有提到谁')).toEqual([])
  })
})

describe('sensitive-word filter', () => {
  it('masks each blocked word, whatever its case, one * per character, in text messages and file names', () => {
    expect(maskWords('内部价 8 折，INTERNAL only', '内部价, internal')).toEqual({
      content: '*** 8 折，******** only',
      masked: 2,
    })
    expect(maskWords({ type: 'text', body: { text: '内部价' } }, '内部价\n其他')).toEqual({
      content: { type: 'text', body: { text: '***' } },
      masked: 1,
    })
    expect(
      maskWords({ type: 'file', body: { url: 'https://x.example.com/f', name: '内部价.pdf', size: 1 } }, '内部价')
        .content,
    ).toMatchObject({ body: { name: '***.pdf' } })
    expect(maskWords('a.b (c)', 'a.b,(c)')).toEqual({ content: '*** ***', masked: 2 })
    expect(maskWords('nothing here', undefined)).toEqual({ content: 'nothing here', masked: 0 })
  })
})
