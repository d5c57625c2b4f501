import t, { type Test } from 'tap'
import http from 'node:http'
import net from 'node:net'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'

// Slow and idle clients cannot starve the apiserver's webhook calls: while
// 500 slow-loris connections trickle their headers, audit batches and
// queries are answered; the header, request and keep-alive timeouts then
// close the slow ones with a 408, and past the connection cap new sockets
// are turned away. Short timeouts here; the defaults are in the README.

const LIMITS = { headersTimeoutMs: 1500, requestTimeoutMs: 3000, keepAliveTimeoutMs: 1000, connectionTimeoutMs: 0, maxConnections: 600 }

interface Slow { socket: net.Socket, received: string, closedByServer: Promise<boolean> }

/** A client that never finishes: it sends `head`, then one more byte of `drip` every 200 ms; after 60 s it gives up itself (the test then fails). */
function slowClient (port: number, head: string, drip: string): Slow {
  const ticks = 300
  const socket = net.connect(port, '127.0.0.1')
  const slow: Slow = { socket, received: '', closedByServer: Promise.resolve(false) }
  socket.setEncoding('utf8').on('data', (d: string) => { slow.received += d })
  slow.closedByServer = new Promise(resolve => {
    let n = 0
    let gaveUp = false
    let timer: NodeJS.Timeout | undefined
    socket.on('connect', () => {
      socket.write(head)
      timer = setInterval(() => {
        if (++n > ticks) { gaveUp = true; socket.destroy(); return }
        if (drip !== '' && socket.writable) socket.write(drip[n % drip.length]!)
      }, 200)
    })
    socket.on('error', () => {})
    socket.on('close', () => { clearInterval(timer); resolve(!gaveUp) })
  })
  return slow
}

function request (port: number, method: string, path: string, body?: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, res => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => { text += d }).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function listening (t: Test, http: Record<string, number>): Promise<{ a: TestApp, port: number }> {
  const a = await testApp({ config: { port: 0, http } })
  t.teardown(a.close)
  return { a, port: Number(new URL(await a.app.listen()).port) }
}

const TIMEOUT_ANSWER = /^HTTP\/1\.1 408 Request Timeout\r\n[^]*\r\n\r\n\{"code":"KC_REQUEST_TIMEOUT","message":"the request was not received in time"\}$/

t.test('500 slow-loris connections: normal requests are answered, the slow ones are closed with 408', async t => {
  // A headers timeout long enough that the slow ones are surely still open while the normal requests run.
  const { a, port } = await listening(t, { ...LIMITS, headersTimeoutMs: 8000, requestTimeoutMs: 10_000 })
  const slow: Slow[] = []
  for (let i = 0; i < 500; i++) slow.push(slowClient(port, `POST /audit HTTP/1.1\r\nHost: kubechanges\r\nX-Slow-${i}: `, 'abcdefgh'))
  await Promise.all(slow.map(s => new Promise(resolve => { s.socket.once('connect', resolve) })))

  // Meanwhile kube-apiserver posts a batch and a user queries.
  const c = new Cluster(undefined, {})
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'shop' }, data: { a: '1' } })
  const posted = await request(port, 'POST', '/audit', JSON.stringify(eventList(c.take())))
  t.same(posted, { status: 200, body: '{"received":1,"observations":1,"dropped":0,"malformed":0}' }, 'the audit batch is processed')
  a.clock.now = c.t
  await a.advance(60_000)
  const listed = await request(port, 'GET', '/changes')
  t.equal(listed.status, 200)
  t.same(JSON.parse(listed.body).items.map((ch: any) => [ch.type, ch.object.name]), [['create', 'flags']], 'and the query answered')
  t.equal(slow.filter(s => !s.socket.destroyed).length, 500, 'while all 500 slow connections are still open')

  const closed = await Promise.all(slow.map(s => s.closedByServer))
  t.equal(closed.filter(Boolean).length, 500, 'every slow connection is closed by the server, none had to give up')
  t.equal(slow.filter(s => TIMEOUT_ANSWER.test(s.received)).length, 500, 'each with a 408 {code, message}')
  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_http_rejected_total')
  t.match(m, /route="connection",code="408"\} 500/, 'counted')
})

t.test('a body that trickles is cut by the request timeout; an idle keep-alive connection by the keep-alive timeout', async t => {
  const { port } = await listening(t, LIMITS)
  const body = slowClient(port, 'POST /audit HTTP/1.1\r\nHost: kubechanges\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"kind":"EventList","items":[', ' ')
  t.equal(await body.closedByServer, true, 'closed by the server')
  t.match(body.received, TIMEOUT_ANSWER)

  // One complete request, then silence: answered, then closed once idle.
  const idle = slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: kubechanges\r\n\r\n', '')
  t.equal(await idle.closedByServer, true, 'closed by the server')
  t.match(idle.received, /^HTTP\/1\.1 200 OK\r\n[^]*keep-alive[^]*\r\n\r\n\{"status":"ok"\}$/, 'after its answer, and nothing else')
})

t.test('past the connection cap new connections are refused until the timeouts free a place', async t => {
  const { a, port } = await listening(t, { ...LIMITS, maxConnections: 20 })
  const server = a.app.server.server
  let accepted = 0
  const all = new Promise(resolve => { server.on('connection', () => { if (++accepted === 20) resolve(null) }) })
  const slow: Slow[] = []
  for (let i = 0; i < 20; i++) slow.push(slowClient(port, 'GET /changes HTTP/1.1\r\n', 'x'))
  await all
  const dropped = new Promise(resolve => { server.once('drop', resolve) })
  await t.rejects(request(port, 'GET', '/healthz'), { code: 'ECONNRESET' }, 'the 21st connection is dropped at once')
  await dropped
  await Promise.all(slow.map(s => s.closedByServer))
  t.same(await request(port, 'GET', '/healthz'), { status: 200, body: '{"status":"ok"}' }, 'served again once the slow ones are gone')
})
