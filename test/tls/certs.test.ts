import t from 'tap'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { request, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import Fastify, { type FastifyInstance } from 'fastify'
import forge from 'node-forge'
import {
  CLIENT_COMMON_NAME,
  generateCertificates,
  runCertsCommand,
  serviceDnsNames,
  writeCertificates
} from '../../src/tls/certs.js'

const SERVICE = 'kubechanges'
const NAMESPACE = 'monitoring'
const SERVERNAME = `${SERVICE}.${NAMESPACE}.svc`
const DAY_MS = 24 * 60 * 60 * 1000

// Key generation dominates the run time: one bundle per role, reused by every test.
const started = Date.now()
const bundle = generateCertificates({
  service: SERVICE,
  namespace: NAMESPACE,
  dns: ['kubechanges.example.com'],
  ip: ['127.0.0.1', '::1'],
  client: true
})
const other = generateCertificates({ service: SERVICE, namespace: NAMESPACE, client: true })
t.comment(`generated two bundles (6 RSA keys) in ${Date.now() - started} ms`)

const dir = await mkdtemp(join(tmpdir(), 'kc-certs-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const written = await writeCertificates(dir, bundle)
const file = (name: string): string => join(dir, name)

function openssl (...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function opensslFails (...args: string[]): boolean {
  try {
    openssl(...args)
    return false
  } catch {
    return true
  }
}

t.test('bundle shape', async t => {
  for (const k of ['caCert', 'serverCert', 'clientCert'] as const) {
    t.match(bundle[k], /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/, k)
    t.notMatch(bundle[k], /\r/, `${k} has LF line endings`)
  }
  for (const k of ['caKey', 'serverKey', 'clientKey'] as const) {
    t.match(bundle[k], /^-----BEGIN (RSA )?PRIVATE KEY-----\n/, k)
  }
  t.equal(Buffer.from(bundle.caBundle, 'base64').toString('utf8'), bundle.caCert, 'caBundle is base64 of the CA PEM')
  t.same(written, ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'client.crt', 'client.key'].map(file))
  for (const name of ['ca.key', 'tls.key', 'client.key']) {
    t.equal((await stat(file(name))).mode & 0o777, 0o600, `${name} is 0600`)
  }
  t.equal(await readFile(file('tls.crt'), 'utf8'), bundle.serverCert)

  const noClient = { ...bundle, clientCert: undefined, clientKey: undefined }
  const dir2 = await mkdtemp(join(tmpdir(), 'kc-certs-'))
  t.teardown(() => rm(dir2, { recursive: true, force: true }))
  // A pre-existing world-readable key must not stay world-readable.
  await writeFile(join(dir2, 'tls.key'), 'old', { mode: 0o644 })
  t.same(await writeCertificates(join(dir2, 'nested'), noClient), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'].map(n => join(dir2, 'nested', n)), 'no client files, creates dir')
  t.same(await writeCertificates(dir2, noClient), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'].map(n => join(dir2, n)))
  t.equal((await stat(join(dir2, 'tls.key'))).mode & 0o777, 0o600, 'replaced key is 0600')
  t.equal(await readFile(join(dir2, 'tls.key'), 'utf8'), bundle.serverKey)
})

t.test('openssl verifies the chain', async t => {
  t.match(openssl('verify', '-CAfile', file('ca.crt'), '-purpose', 'sslserver', file('tls.crt')), /: OK/)
  t.match(openssl('verify', '-CAfile', file('ca.crt'), '-purpose', 'sslclient', file('client.crt')), /: OK/)
  // Usage is enforced, not just the signature.
  t.ok(opensslFails('verify', '-CAfile', file('ca.crt'), '-purpose', 'sslclient', file('tls.crt')), 'serving cert is no client cert')
  t.ok(opensslFails('verify', '-CAfile', file('ca.crt'), '-purpose', 'sslserver', file('client.crt')), 'client cert is no serving cert')
  const otherCa = join(dir, 'other-ca.pem')
  await writeFile(otherCa, other.caCert)
  t.ok(opensslFails('verify', '-CAfile', otherCa, file('tls.crt')), 'another CA does not verify it')
})

t.test('openssl shows the extensions', async t => {
  const server = openssl('x509', '-noout', '-text', '-in', file('tls.crt'))
  t.match(server, /Basic Constraints: critical\s+CA:FALSE/)
  t.match(server, /Key Usage: critical\s+Digital Signature, Key Encipherment/)
  t.match(server, /Extended Key Usage:\s+TLS Web Server Authentication\n/)
  t.match(server, /Subject: CN\s*=\s*kubechanges\.monitoring\.svc/)
  t.match(server, /Subject Key Identifier/)
  const san = /Subject Alternative Name:\s*\n\s*(.*)\n/.exec(server)?.[1] ?? ''
  t.same(san.split(', '), [
    'DNS:kubechanges',
    'DNS:kubechanges.monitoring',
    'DNS:kubechanges.monitoring.svc',
    'DNS:kubechanges.monitoring.svc.cluster.local',
    'DNS:kubechanges.example.com',
    'IP Address:127.0.0.1',
    'IP Address:0:0:0:0:0:0:0:1'
  ])

  const ca = openssl('x509', '-noout', '-text', '-in', file('ca.crt'))
  t.match(ca, /Basic Constraints: critical\s+CA:TRUE/)
  t.match(ca, /Key Usage: critical\s+Certificate Sign, CRL Sign/)
  const caSki = /Subject Key Identifier:\s*\n\s*(\S+)/.exec(ca)?.[1]
  t.ok(caSki)
  t.match(server, new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${caSki}`), 'AKI is the CA key id')

  const client = openssl('x509', '-noout', '-text', '-in', file('client.crt'))
  t.match(client, /Extended Key Usage:\s+TLS Web Client Authentication\n/)
  t.match(client, /Basic Constraints: critical\s+CA:FALSE/)
  t.match(client, new RegExp(`Subject: CN\\s*=\\s*${CLIENT_COMMON_NAME}`))
  t.notMatch(client, /Subject Alternative Name/)
})

t.test('serials, validity and names', async t => {
  const serials = new Set<string>()
  for (const pem of [bundle.caCert, bundle.serverCert, bundle.clientCert!, other.serverCert]) {
    const hex = forge.pki.certificateFromPem(pem).serialNumber
    t.equal(hex.length, 32, '16-byte serial')
    t.ok(parseInt(hex.slice(0, 2), 16) < 0x80 && hex.slice(0, 2) !== '00', 'positive, minimal DER')
    serials.add(hex)
  }
  t.equal(serials.size, 4, 'serials differ')

  const now = Date.now()
  const server = new X509Certificate(bundle.serverCert)
  const ca = new X509Certificate(bundle.caCert)
  t.ok(Date.parse(server.validFrom) <= now, 'valid already')
  t.ok(Math.abs(Date.parse(server.validTo) - (now + 365 * DAY_MS)) < DAY_MS, 'serving cert ~365 days')
  t.ok(Math.abs(Date.parse(ca.validTo) - (now + 3650 * DAY_MS)) < DAY_MS, 'CA ~3650 days')
  t.ok(server.checkIssued(ca) && server.verify(ca.publicKey))
  t.notOk(server.ca)
  t.ok(ca.ca)
  for (const name of [...serviceDnsNames(SERVICE, NAMESPACE), 'kubechanges.example.com']) {
    t.equal(server.checkHost(name), name, `SAN covers ${name}`)
  }
  t.equal(server.checkHost('kubechanges.other.svc'), undefined)
  t.equal(server.checkIP('127.0.0.1'), '127.0.0.1')
  t.equal(server.checkIP('10.0.0.1'), undefined)
})

t.test('argument validation', async t => {
  const bad: Array<[string, Parameters<typeof generateCertificates>[0]]> = [
    ['empty service', { service: '', namespace: 'ns' }],
    ['upper-case service', { service: 'Web', namespace: 'ns' }],
    ['dotted namespace', { service: 'web', namespace: 'a.b' }],
    ['bad dns', { service: 'web', namespace: 'ns', dns: ['under_score..x'] }],
    ['bad ip', { service: 'web', namespace: 'ns', ip: ['300.1.1.1'] }],
    ['zero days', { service: 'web', namespace: 'ns', days: 0 }],
    ['fractional days', { service: 'web', namespace: 'ns', days: 1.5 }],
    ['invalid now', { service: 'web', namespace: 'ns', now: new Date(NaN) }]
  ]
  for (const [what, opts] of bad) {
    t.throws(() => generateCertificates(opts), { code: 'KC_BAD_ARGUMENT' }, what)
  }
})

// --- real handshakes ------------------------------------------------------

async function listen (app: FastifyInstance<HttpsServer>): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

interface Reply { status: number; body: string }

function get (port: number, opts: { ca: string; servername?: string; cert?: string; key?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/',
      method: 'GET',
      ca: opts.ca,
      servername: opts.servername ?? SERVERNAME,
      cert: opts.cert,
      key: opts.key,
      agent: false
    }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('TLS handshake with the generated CA as the only trust anchor', async t => {
  const app = Fastify({ https: { key: bundle.serverKey, cert: bundle.serverCert } })
  app.get('/', async () => ({ ok: true }))
  t.teardown(() => app.close())
  const port = await listen(app)

  t.same(await get(port, { ca: bundle.caCert }), { status: 200, body: '{"ok":true}' }, `servername ${SERVERNAME}`)
  t.equal((await get(port, { ca: bundle.caCert, servername: `${SERVICE}.${NAMESPACE}.svc.cluster.local` })).status, 200)
  await t.rejects(get(port, { ca: other.caCert }), { code: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|CERT_SIGNATURE_FAILURE/ }, 'another CA is refused')
  await t.rejects(get(port, { ca: bundle.caCert, servername: 'kubechanges.elsewhere.svc' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'name outside the SANs is refused')
})

t.test('mTLS: the client certificate is verified against the CA', async t => {
  const app = Fastify({
    https: { key: bundle.serverKey, cert: bundle.serverCert, ca: bundle.caCert, requestCert: true, rejectUnauthorized: false }
  })
  app.get('/', async request => {
    const socket = request.raw.socket as TLSSocket
    const peer = socket.getPeerCertificate()
    return { authorized: socket.authorized, cn: peer?.subject?.CN ?? null }
  })
  t.teardown(() => app.close())
  const port = await listen(app)

  const withCert = await get(port, { ca: bundle.caCert, cert: bundle.clientCert, key: bundle.clientKey })
  t.same(JSON.parse(withCert.body), { authorized: true, cn: CLIENT_COMMON_NAME }, 'generated client cert is authorized')
  const without = await get(port, { ca: bundle.caCert })
  t.same(JSON.parse(without.body), { authorized: false, cn: null }, 'no client cert is not authorized')
  const foreign = await get(port, { ca: bundle.caCert, cert: other.clientCert, key: other.clientKey })
  t.same(JSON.parse(foreign.body), { authorized: false, cn: CLIENT_COMMON_NAME }, 'client cert of another CA is not authorized')
})

// --- CLI ------------------------------------------------------------------

async function run (argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCertsCommand(argv, l => out.push(l), l => err.push(l))
  return { code, out, err }
}

t.test('certs command writes the files and prints the caBundle', async t => {
  const outDir = join(await mkdtemp(join(tmpdir(), 'kc-cli-')), 'certs')
  t.teardown(() => rm(join(outDir, '..'), { recursive: true, force: true }))
  const r = await run(['--service', 'web', '--namespace', 'shop', '--out', outDir, '--dns', 'a.example.com', '--dns', 'b.example.com', '--ip', '10.0.0.7', '--client', '--days', '30'])
  t.equal(r.code, 0)
  t.same(r.err, [])
  for (const name of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'client.crt', 'client.key']) {
    t.ok(r.out.some(l => l.startsWith('wrote ') && l.includes(join(outDir, name))), `reports ${name}`)
  }
  for (const name of ['ca.key', 'tls.key', 'client.key']) {
    t.equal((await stat(join(outDir, name))).mode & 0o777, 0o600, `${name} is 0600`)
  }
  const last = r.out[r.out.length - 1]
  t.match(last, /^caBundle: [A-Za-z0-9+/]+=*$/, 'caBundle on its own line, last')
  const ca = await readFile(join(outDir, 'ca.crt'), 'utf8')
  t.equal(Buffer.from(last.slice('caBundle: '.length), 'base64').toString('utf8'), ca)

  const cert = new X509Certificate(await readFile(join(outDir, 'tls.crt')))
  t.equal(cert.subject.split('\n').find(l => l.startsWith('CN=')), 'CN=web.shop.svc')
  t.equal(cert.checkHost('a.example.com'), 'a.example.com')
  t.equal(cert.checkHost('b.example.com'), 'b.example.com')
  t.equal(cert.checkHost('web.shop.svc.cluster.local'), 'web.shop.svc.cluster.local')
  t.equal(cert.checkIP('10.0.0.7'), '10.0.0.7')
  t.ok(Math.abs(Date.parse(cert.validTo) - (Date.now() + 30 * DAY_MS)) < DAY_MS, '--days 30')
  t.match(openssl('verify', '-CAfile', join(outDir, 'ca.crt'), join(outDir, 'tls.crt'), join(outDir, 'client.crt')), /tls\.crt: OK\n.*client\.crt: OK/)
})

t.test('certs command usage errors exit 2', async t => {
  const missing = await run(['--namespace', 'shop', '--out', '/nonexistent/never-written'])
  t.equal(missing.code, 2)
  t.match(missing.err[0], /missing required option --service/)
  t.same(missing.out, [])

  const cases: Array<[string, string[], RegExp]> = [
    ['all missing', [], /missing required options --service, --namespace, --out/],
    ['unknown option', ['--service', 'web', '--namespace', 'shop', '--out', 'x', '--bogus'], /bogus/],
    ['positional', ['web'], /web/],
    ['bad days', ['--service', 'web', '--namespace', 'shop', '--out', 'x', '--days', '1e2'], /--days must be a positive integer/],
    ['zero days', ['--service', 'web', '--namespace', 'shop', '--out', 'x', '--days', '0'], /days must be an integer between 1/],
    ['bad ip', ['--service', 'web', '--namespace', 'shop', '--out', 'x', '--ip', 'localhost'], /invalid IP address "localhost"/],
    ['bad service', ['--service', 'Web_1', '--namespace', 'shop', '--out', 'x'], /service must be a DNS label/],
    ['value missing', ['--service'], /--service/]
  ]
  for (const [what, argv, message] of cases) {
    const r = await run(argv)
    t.equal(r.code, 2, what)
    t.match(r.err.join('\n'), message, what)
  }

  const help = await run(['--help'])
  t.equal(help.code, 0)
  t.match(help.out.join('\n'), /Usage: kubechanges certs --service NAME --namespace NS --out DIR/)
})

// A regular file in the path fails with ENOTDIR, even for root.
t.test('certs command reports an unwritable --out with exit 1', async t => {
  const parent = await mkdtemp(join(tmpdir(), 'kc-cli-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  const blocker = join(parent, 'file')
  await writeFile(blocker, '')
  const r = await run(['--service', 'web', '--namespace', 'shop', '--out', join(blocker, 'certs')])
  t.equal(r.code, 1)
  t.match(r.err.join('\n'), /cannot write to/)
})

t.test('`kubechanges certs` through the CLI entry point (which loads the certs code on demand)', async t => {
  const { main } = await import('../../src/cli.js')
  const outDir = join(await mkdtemp(join(tmpdir(), 'kc-cli-main-')), 'certs')
  t.teardown(() => rm(join(outDir, '..'), { recursive: true, force: true }))
  const out: string[] = []
  const err: string[] = []
  t.equal(await main(['certs', '--service', 'web', '--namespace', 'shop', '--out', outDir], { out: l => { out.push(l) }, err: l => { err.push(l) }, env: {} }), 0)
  t.same(err, [])
  t.match(out[out.length - 1], /^caBundle: /)
  t.equal(new X509Certificate(await readFile(join(outDir, 'tls.crt'))).subject.split('\n').find(l => l.startsWith('CN=')), 'CN=web.shop.svc')
})
