import { LRUCache } from 'lru-cache'

// The correlation window: open changes keyed by root, bounded by count and
// age. An entry pushed out (capacity) or aged out (TTL) is handed to
// `onEvict` so the caller closes it as timed-out: never dropped silently.
// The clock is the pipeline's, not the wall's, so a replay ages entries in the
// events' own time.

export type EvictReason = 'capacity' | 'ttl'

export class Window<V extends {}> {
  readonly #cache: LRUCache<string, V>
  #closing = new Set<string>()

  constructor (opts: { max: number, ttlMs: number, now: () => number, onEvict: (key: string, value: V, reason: EvictReason) => void }) {
    this.#cache = new LRUCache<string, V>({
      max: opts.max,
      ttl: opts.ttlMs,
      ttlResolution: 0,
      // An open change's age counts from when it opened, not from its last evidence.
      noUpdateTTL: true,
      perf: { now: opts.now },
      dispose: (value, key, reason) => {
        if (this.#closing.has(key)) return
        if (reason === 'evict') opts.onEvict(key, value, 'capacity')
        else if (reason === 'expire') opts.onEvict(key, value, 'ttl')
      }
    })
  }

  get (key: string): V | undefined { return this.#cache.get(key) }
  /** Read without refreshing recency (iteration, metrics). */
  peek (key: string): V | undefined { return this.#cache.peek(key) }
  set (key: string, value: V): void { this.#cache.set(key, value) }

  /** Remove an entry that is being closed normally (no eviction callback). */
  delete (key: string): void {
    this.#closing.add(key)
    try { this.#cache.delete(key) } finally { this.#closing.delete(key) }
  }

  purgeStale (): void { this.#cache.purgeStale() }
  values (): V[] { return [...this.#cache.values()] }
  get size (): number { return this.#cache.size }
}
