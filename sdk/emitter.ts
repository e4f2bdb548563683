type Listener = (...args: any[]) => void

/** A small typed event emitter that runs in Node and browsers alike. */
export class Emitter<E extends { [K in keyof E]: Listener }> {
  #listeners = new Map<keyof E, Set<Listener>>()

  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.#listeners.get(event)
    if (!set) this.#listeners.set(event, (set = new Set()))
    set.add(listener)
    return () => this.off(event, listener)
  }

  off<K extends keyof E>(event: K, listener: E[K]): void {
    this.#listeners.get(event)?.delete(listener)
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    for (const l of this.#listeners.get(event) ?? []) l(...args)
  }
}
