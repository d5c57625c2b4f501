import { LRUCache } from 'lru-cache'

// The correlation window: open changes keyed by root, bounded by count and
// age. An entry pushed out (capacity) or aged out (TTL) is handed to
// `onEvict` so the caller closes it as timed-out: never dropped silently.
// The clock is the pipeline's, not the wall's, so a replay ages entries in the
// events' own time.

export type EvictReason = 'capacity' | 'ttl'

export class Window<V extends {}> {
  readonly #cache: LRUCache<string, V>
  readonly #ttlMs: number
  readonly #now: () => number
  #closing = new Set<string>()
  /** While loading: the time an entry entered the window, so its TTL runs on from there. */
  #loadingAt: number | undefined

  /** `onLeave`: the key is no longer open, however it went (closed, re-keyed, evicted, aged out). */
  constructor (opts: { max: number, ttlMs: number, now: () => number, onEvict: (key: string, value: V, reason: EvictReason) => void, onLeave?: (key: string) => void }) {
    this.#ttlMs = opts.ttlMs
    this.#now = opts.now
    this.#cache = new LRUCache<string, V>({
      max: opts.max,
      ttl: opts.ttlMs,
      ttlResolution: 0,
      // An open change's age counts from when it opened, not from its last evidence.
      noUpdateTTL: true,
      perf: { now: () => this.#loadingAt ?? opts.now() },
      dispose: (value, key, reason) => {
        if (reason !== 'set') opts.onLeave?.(key)
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

  /**
   * Every entry (aged-out ones too: they still owe their timed-out report),
   * least recently used first (as lru-cache dumps), with the time it entered the window.
   */
  dump (): Array<[string, V, number]> {
    const now = this.#now()
    return this.#cache.dump().map(([k, e]) => [k, e.value, now - (this.#ttlMs - this.#cache.getRemainingTTL(k))])
  }

  /** Into an empty window: the same entries, recency and ages as dumped. */
  load (entries: Array<[string, V, number]>): void {
    try {
      for (const [k, v, at] of entries) {
        this.#loadingAt = at
        this.#cache.set(k, v)
      }
    } finally {
      this.#loadingAt = undefined
    }
  }
  values (): V[] { return [...this.#cache.values()] }
  get size (): number { return this.#cache.size }
}
