export {
  brokerUrl,
  clientIdOf,
  connect,
  MChatClient,
  type ClientEvents,
  type ConnectOptions,
  type Presence,
} from './client.ts'
export { MChatError } from './errors.ts'
export { MemoryHistory } from './history/memory.ts'
export { IndexedDbHistory } from './history/indexeddb.ts'
export {
  groupConversation,
  privateConversation,
  type HistoryMessage,
  type HistoryPage,
  type HistoryStore,
} from './history/store.ts'
