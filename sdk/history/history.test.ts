import { mkdtemp, readFile, rm, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDBFactory } from 'fake-indexeddb'
import 'fake-indexeddb/auto'
import { afterAll, describe, expect, it } from 'vitest'
import { FileHistory } from './file.ts'
import { IndexedDbHistory } from './indexeddb.ts'
import { MemoryHistory } from './memory.ts'
import type { HistoryMessage, HistoryStore } from './store.ts'

const dirs: string[] = []
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

const msg = (
  i: number,
  conversation = 'private:bob',
  sent_at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
): HistoryMessage => ({
  msg_id: `msg_${String(i).padStart(3, '0')}`,
  conversation,
  from_employee_id: 'bob',
  content: `hello ${i}`,
  sent_at,
})

const stores: Array<[string, () => Promise<HistoryStore>]> = [
  ['memory', async () => new MemoryHistory()],
  [
    'file',
    async () => {
      const d = await mkdtemp(join(tmpdir(), 'mchat-hist-'))
      dirs.push(d)
      return FileHistory.open(join(d, 'history.jsonl'))
    },
  ],
  ['IndexedDB', async () => IndexedDbHistory.open(`t${Math.random()}`, new IDBFactory())],
]

describe.each(stores)('%s history', (_name, open) => {
  it('keeps each msg_id once and pages a conversation newest first, every message exactly once', async () => {
    const h = await open()
    for (const i of [3, 1, 2, 5, 4]) expect(await h.add(msg(i))).toBe(true)
    expect(await h.add(msg(3))).toBe(false)
    await h.add(msg(9, 'group:g1'))
    // Same second, different ids: still one order.
    await h.add({ ...msg(6), sent_at: msg(5).sent_at })

    const seen: string[] = []
    let before: string | null = null
    for (let guard = 0; guard < 10; guard++) {
      const p = await h.page('private:bob', { before, limit: 2 })
      seen.push(...p.messages.map((m) => m.msg_id))
      if (!p.next) break
      before = p.next
    }
    expect(seen).toEqual(['msg_006', 'msg_005', 'msg_004', 'msg_003', 'msg_002', 'msg_001'])
    expect((await h.page('group:g1')).messages.map((m) => m.msg_id)).toEqual(['msg_009'])
    expect(await h.page('private:nobody')).toEqual({ messages: [], next: null })
    await h.close()
  })
})

describe('file history', () => {
  it('survives a restart, holds no duplicates, and skips a line torn by a crash', async () => {
    const d = await mkdtemp(join(tmpdir(), 'mchat-hist-'))
    dirs.push(d)
    const path = join(d, 'h.jsonl')
    const a = await FileHistory.open(path)
    await Promise.all([a.add(msg(1)), a.add(msg(2)), a.add(msg(1))])
    await a.close()
    await appendFile(path, '{"msg_id":"msg_torn","conv')
    const b = await FileHistory.open(path)
    expect((await b.page('private:bob')).messages.map((m) => m.msg_id)).toEqual(['msg_002', 'msg_001'])
    expect(await b.add(msg(2))).toBe(false)
    await b.close()
    expect((await readFile(path, 'utf8')).split('\n').filter((l) => l.includes('"msg_001"'))).toHaveLength(1)
  })
})

describe('IndexedDB history', () => {
  it('survives reopening the same database', async () => {
    const factory = new IDBFactory()
    const a = await IndexedDbHistory.open('same', factory)
    await a.add(msg(1))
    await a.close()
    const b = await IndexedDbHistory.open('same', factory)
    expect(await b.add(msg(1))).toBe(false)
    expect((await b.page('private:bob')).messages).toEqual([msg(1)])
    await b.close()
  })
})
