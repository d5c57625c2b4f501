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
  return await new Promise((resolve, reject) => {
    const req = request(`${base}/changes/stream${opts.query ?? ''}`, { headers: opts.headers ?? {} }, res => {
      const parser = new SseParser()
      const waiters: Array<() => void> = []
      const wake = (): void => { for (const w of waiters.splice(0)) w() }
      let endedResolve: () => void = () => {}
      const c: StreamClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: parser.comments,
        body: '',
        until: async n => {
          while (c.events.length < n) await new Promise<void>(r => waiters.push(r))
          return c.events.slice(0, n)
        },
        untilComment: async re => {
          while (!c.comments.some(x => re.test(x))) await new Promise<void>(r => waiters.push(r))
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
      const end = (): void => { endedResolve(); wake() }
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
