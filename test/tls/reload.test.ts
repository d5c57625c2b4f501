import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { request, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type TLSSocket } from 'node:tls'
import Fastify, { type FastifyInstance } from 'fastify'
import { generateCertificates, type CertBundle } from '../../src/tls/certs.js'
import { loadTls, watchTls } from '../../src/tls/reload.js'

// Two bundles (A, B) from two CAs; key generation is the slow part, so once.
const A = generateCertificates({ service: 'kubechanges', namespace: 'kc', client: true })
const B = generateCertificates({ service: 'kubechanges', namespace: 'kc', client: true })

const root = await mkdtemp(join(tmpdir(), 'kc-reload-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
let dirs = 0
async function freshDir (): Promise<string> {
  const d = join(root, String(dirs++))
  await mkdir(d)
  return d
}

function serialOf (pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase()
}

const SERIAL_A = serialOf(A.serverCert)
const SERIAL_B = serialOf(B.serverCert)

// Each probe is a new connection without session reuse, so it sees the
// context in effect right now.
function peerSerial (port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'kubechanges.kc.svc', rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toUpperCase()
      socket.destroy()
      resolve(serial)
    })
    socket.on('error', reject)
  })
}

async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

// Rename into place, as writeCertificates and kubelet do: otherwise a tick
// may land between truncate and write and report one extra error.
let puts = 0
async function put (path: string, data: string): Promise<void> {
  const tmp = `${path}.${puts++}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, path)
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function startServer (material: { cert: Buffer; key: Buffer; ca?: Buffer }, mtls = false): Promise<{ app: FastifyInstance<HttpsServer>; port: number }> {
  const app = Fastify({ https: { ...material, requestCert: mtls, rejectUnauthorized: false } })
  app.get('/', async request => ({ authorized: (request.raw.socket as TLSSocket).authorized }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, port: (app.server.address() as AddressInfo).port }
}

t.test('loadTls', async t => {
  const dir = await freshDir()
  await writeFile(join(dir, 'tls.crt'), A.serverCert)
  await writeFile(join(dir, 'tls.key'), A.serverKey)
  await writeFile(join(dir, 'ca.crt'), A.caCert)
  await writeFile(join(dir, 'other.key'), B.serverKey)
  await writeFile(join(dir, 'half.crt'), A.serverCert.slice(0, 200))

  const m = loadTls(join(dir, 'tls.crt'), join(dir, 'tls.key'), join(dir, 'ca.crt'))
  t.equal(m.cert.toString(), A.serverCert)
  t.equal(m.key.toString(), A.serverKey)
  t.equal(m.ca?.toString(), A.caCert)
  t.notOk('ca' in loadTls(join(dir, 'tls.crt'), join(dir, 'tls.key')), 'no ca without caFile')

  const missing = join(dir, 'nope.crt')
  t.throws(() => loadTls(missing, join(dir, 'tls.key')), { code: 'KC_TLS_LOAD_FAILED', message: new RegExp(`certificate ${missing}`) }, 'missing cert names the path')
  t.throws(() => loadTls(join(dir, 'tls.crt'), join(dir, 'nope.key')), { code: 'KC_TLS_LOAD_FAILED', message: /private key .*nope\.key/ })
  t.throws(() => loadTls(join(dir, 'tls.crt'), join(dir, 'tls.key'), join(dir, 'nope-ca.crt')), { code: 'KC_TLS_LOAD_FAILED', message: /CA bundle .*nope-ca\.crt/ })
  t.throws(() => loadTls(join(dir, 'tls.crt'), join(dir, 'other.key')), { code: 'KC_TLS_LOAD_FAILED', message: /tls\.crt.*other\.key/ }, 'mismatched pair')
  t.throws(() => loadTls(join(dir, 'half.crt'), join(dir, 'tls.key')), { code: 'KC_TLS_LOAD_FAILED', message: /half\.crt/ }, 'truncated cert')
})

t.test('reloads a new pair, keeps the old one on a bad pair', async t => {
  const dir = await freshDir()
  const cert = join(dir, 'tls.crt')
  const key = join(dir, 'tls.key')
  await put(cert, A.serverCert)
  await put(key, A.serverKey)

  const { app, port } = await startServer(loadTls(cert, key))
  t.teardown(() => app.close())
  const errors: Error[] = []
  let reloads = 0
  const stop = watchTls(app.server, { cert, key }, {
    intervalMs: 50,
    onReload: () => { reloads++ },
    onError: e => { errors.push(e) }
  })
  t.teardown(stop)

  t.equal(await peerSerial(port), SERIAL_A, 'serves A')

  // Half of a rotation: B's cert next to A's key.
  await put(cert, B.serverCert)
  await waitFor('onError for the mismatched pair', () => errors.length > 0)
  t.match(errors[0], { code: 'KC_TLS_LOAD_FAILED', message: /tls\.crt/ })
  t.equal(await peerSerial(port), SERIAL_A, 'A still served after a bad pair')
  t.equal(reloads, 0)
  await sleep(200)
  t.equal(errors.length, 1, 'the same bad files are reported once, not every tick')

  // The other half arrives.
  await put(key, B.serverKey)
  await waitFor('B to be served', async () => (await peerSerial(port)) === SERIAL_B)
  t.equal(reloads, 1, 'onReload once')
  t.equal(errors.length, 1)

  // A truncated (half-written) cert keeps B.
  await put(cert, B.serverCert.slice(0, 300))
  await waitFor('onError for the truncated cert', () => errors.length > 1)
  t.equal(await peerSerial(port), SERIAL_B, 'B still served after a truncated cert')

  // Rewriting identical content is no reload.
  await put(cert, B.serverCert)
  await sleep(200)
  t.equal(reloads, 1, 'same content as applied: no reload')

  stop()
  await put(cert, A.serverCert)
  await put(key, A.serverKey)
  await sleep(200)
  t.equal(await peerSerial(port), SERIAL_B, 'no reload after stop')
})

// kubelet's atomic writer: NAME -> ..data/NAME, ..data -> ..<timestamp>/, and
// an update renames a new ..data symlink over the old one. The files
// themselves are never written in place.
t.test('follows a Kubernetes Secret volume symlink swap, including the CA', async t => {
  const dir = await freshDir()
  async function publish (version: string, b: CertBundle): Promise<void> {
    const target = join(dir, `..${version}`)
    await mkdir(target)
    await writeFile(join(target, 'tls.crt'), b.serverCert)
    await writeFile(join(target, 'tls.key'), b.serverKey)
    await writeFile(join(target, 'ca.crt'), b.caCert)
    await symlink(`..${version}`, join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
  }
  await publish('2024_01_01_00_00_00.1', A)
  for (const f of ['tls.crt', 'tls.key', 'ca.crt']) await symlink(join('..data', f), join(dir, f))
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') }

  const { app, port } = await startServer(loadTls(files.cert, files.key, files.ca), true)
  t.teardown(() => app.close())
  const errors: Error[] = []
  let reloads = 0
  const stop = watchTls(app.server, files, { intervalMs: 50, onReload: () => { reloads++ }, onError: e => { errors.push(e) } })
  t.teardown(stop)

  const authorized = (client: CertBundle): Promise<boolean> => new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, cert: client.clientCert, key: client.clientKey, agent: false }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve((JSON.parse(body) as { authorized: boolean }).authorized))
    }).on('error', reject).end()
  })

  t.equal(await peerSerial(port), SERIAL_A)
  t.ok(await authorized(A), 'A client trusted')
  t.notOk(await authorized(B), 'B client not yet trusted')

  await publish('2024_01_02_00_00_00.2', B)
  await waitFor('B to be served', async () => (await peerSerial(port)) === SERIAL_B)
  t.equal(reloads, 1)
  t.same(errors, [])
  t.ok(await authorized(B), 'B client trusted after the CA reload')
  t.notOk(await authorized(A), 'A client no longer trusted')
})

t.test('the timer does not hold the process open and rejects bad intervals', async t => {
  const dir = await freshDir()
  await writeFile(join(dir, 'tls.crt'), A.serverCert)
  await writeFile(join(dir, 'tls.key'), A.serverKey)
  const { app } = await startServer(loadTls(join(dir, 'tls.crt'), join(dir, 'tls.key')))
  t.teardown(() => app.close())
  t.throws(() => watchTls(app.server, { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }, { intervalMs: 0 }), { code: 'KC_BAD_ARGUMENT' })
  const before = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
  const stop = watchTls(app.server, { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }, { intervalMs: 60_000 })
  // getActiveResourcesInfo lists only ref'd timers.
  t.equal(process.getActiveResourcesInfo().filter(r => r === 'Timeout').length, before, 'unref\'d')
  stop()
})
