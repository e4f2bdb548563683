import { inboxTopic, NOTICE_TITLES, type Delivery, type SystemNotice } from '../../schema/index.ts'

type Body<T extends SystemNotice['type']> = Extract<SystemNotice, { type: T }>['body']

/**
 * One notice per event, derived from the reply alone so a replay yields the same notify_id:
 * the event's kind, its subject and its time name it.
 */
export function notice<T extends SystemNotice['type']>(
  type: T,
  subject: string,
  at: string,
  body: Body<T>,
): SystemNotice {
  const notify_id = `ntf_${subject}_${type}_${Date.parse(at).toString(36)}`
  return { notify_id, type, title: NOTICE_TITLES[type], body, created_at: at } as SystemNotice
}

/** The same notice on each recipient's inbox, produced as the answer streams (2,000 members). */
export function* toInboxes(recipients: Iterable<string>, n: SystemNotice): Generator<Delivery> {
  for (const id of recipients) yield { topic: inboxTopic(id), payload: n }
}
