import { request, type IncomingMessage } from 'node:http'
import { SseParser, type SseEvent } from '../../src/cli/sse.js'

// A GET /changes/stream client over a real socket: it collects events and
// comments as they arrive, and lets a test wait for the next ones.

export interface StreamClient {
  status: number
  headers: IncomingMessage['headers']
  events: SseEvent[]
  comments: string[]
  /** The body of a non-200 answer. */
  body: string
  /** Resolves once n events have arrived (in all). */
  until: (n: number) => Promise<SseEvent[]>
  untilComment: (re: RegExp) => Promise<void>
  /** Resolves when the server ends or drops the connection. */
  ended: Promise<void>
  close: () => void
}

export async function openStream (base: string, opts: { headers?: Record<string, string>, query?: string } = {}): Promise<StreamClient> {
  // Like every real client (tail, the page), come back after a 503: on this
  // shared machine a big batch just before can hold the event loop past
  // the overload limit.
  for (let i = 0; ; i++) {
    const c = await openOnce(base, opts)
    if (c.status !== 503 || i === 50) return c
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

async function openOnce (base: string, opts: { headers?: Record<string, string>, query?: string }): Promise<StreamClient> {
  return await new Promise((resolve, reject) => {
    const req = request(`${base}/changes/stream${opts.query ?? ''}`, { headers: opts.headers ?? {} }, res => {
      const parser = new SseParser()
      const waiters: Array<() => void> = []
      const wake = (): void => { for (const w of waiters.splice(0)) w() }
      let endedResolve: () => void = () => {}
      let done = false
      // A wait that can no longer be met fails instead of hanging until tap's timeout.
      const check = (what: string): void => {
        if (done) throw new Error(`stream ended (status ${c.status}) while waiting for ${what}; ${c.events.length} events`)
      }
      const c: StreamClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: parser.comments,
        body: '',
        until: async n => {
          while (c.events.length < n) { check(`${n} events`); await new Promise<void>(r => waiters.push(r)) }
          return c.events.slice(0, n)
        },
        untilComment: async re => {
          while (!c.comments.some(x => re.test(x))) { check(String(re)); await new Promise<void>(r => waiters.push(r)) }
        },
        ended: new Promise(r => { endedResolve = r }),
        close: () => { req.destroy() }
      }
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (c.status !== 200) c.body += chunk
        else c.events.push(...parser.feed(chunk))
        wake()
      })
      const end = (): void => { done = true; endedResolve(); wake() }
      res.on('end', end)
      res.on('close', end)
      res.on('error', end)
      if (c.status !== 200) res.on('end', () => { resolve(c) })
      else resolve(c)
    })
    req.on('error', reject)
    req.end()
  })
}
