// A real HTTP receiver on loopback for the HTTP sinks (webhook, Teams,
// CloudEvents): it keeps each request's headers and raw body and answers
// with the status `respond` picks (or never answers: 'hang').

import http from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface ReceivedRequest { headers: IncomingHttpHeaders; body: string; status: number; path: string }

export interface Receiver {
  got: ReceivedRequest[]
  url: string
}

export async function startReceiver (t: Test, respond: (n: number, req: ReceivedRequest) => number | 'hang' = () => 200, path = '/hook'): Promise<Receiver> {
  const got: ReceivedRequest[] = []
  let n = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r: ReceivedRequest = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: 0, path: req.url ?? '' }
      const status = respond(n++, r)
      if (status === 'hang') return
      r.status = status
      got.push(r)
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? 'no' : 'ok')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}` }
}
