import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createApp } from '../../src/app.js'
import { applyFile, DEFAULTS } from '../../src/config.js'
import { createMetrics } from '../../src/metrics.js'
import { generateCertificates, writeCertificates } from '../../src/tls/certs.js'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { httpsRequest } from '../helpers/https.js'

// Forged changes: whoever can post to /audit can say "alice deleted shop/db".
// With an audit token configured, /audit wants it as a bearer token (what the
// webhook kubeconfig's users[].user.token sends); with a client CA, a client
// certificate from it; with both, both. Nothing else is affected.

const TOKEN = 'f3c1e0b6a9d24e7c8b5a1f0e2d3c4b5a'

async function tokenApp (t: Test): Promise<Awaited<ReturnType<typeof testApp>>> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-auth-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'audit-token'), `${TOKEN}\n`)
  const a = await testApp({ dir, config: { auditTokenFile: join(dir, 'audit-token') } })
  t.teardown(a.close)
  return a
}

t.test('with an audit token, /audit answers 401 without it and processes the batch with it', async t => {
  const a = await tokenApp(t)
  const c = new Cluster(undefined, {})
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'shop' }, data: { a: '1' } })
  const batch = JSON.stringify(eventList(c.take()))
  const post = (authorization: string | undefined, payload = batch) => a.app.server.inject({ method: 'POST', url: '/audit', headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) }, payload })
  const refused = { code: 'KC_UNAUTHORIZED', message: '/audit requires the audit bearer token (users[].user.token in the webhook kubeconfig)' }
  for (const [what, h] of [
    ['no header', undefined],
    ['empty bearer', 'Bearer '],
    ['wrong token, same length', `Bearer ${TOKEN.replace(/.$/, '0')}`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`],
    ['the token and more', `Bearer ${TOKEN}x`],
    ['another scheme', `Basic ${TOKEN}`]
  ] as const) {
    const r = await post(h)
    t.equal(r.statusCode, 401, what)
    t.same(r.json(), refused, what)
  }
  const unparsed = await post(undefined, '{not json')
  t.equal(unparsed.statusCode, 401, 'refused before the body is parsed')
  await a.advance(60_000)
  t.same(a.stored(), [], 'nothing refused was recorded')

  const ok = await post(`Bearer ${TOKEN}`)
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { received: 1, observations: 1, dropped: 0, malformed: 0 })
  t.equal((await post(`bearer ${TOKEN}`)).statusCode, 200, 'the scheme is case-insensitive (RFC 7235)')
  await a.advance(60_000)
  t.same(a.stored().map(ch => [ch.type, ch.object.name, ch.actor?.username]), [['create', 'flags', 'alice@example.com']])

  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_http_rejected_total')
  t.match(m, /route="\/audit",code="401"\} 7/)
  // The token guards /audit only.
  t.equal((await a.app.server.inject('/healthz')).statusCode, 200)
  t.equal((await a.app.server.inject('/changes')).statusCode, 200)
  const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CONNECT' } }
  t.equal((await a.app.server.inject({ method: 'POST', url: '/admission', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) })).statusCode, 200)
})

t.test('an unreadable or empty audit token file stops the start with a clear error', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-auth-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const start = async (file: string) => createApp({ config: applyFile(structuredClone(DEFAULTS), { store: join(dir, 'c.db'), auditTokenFile: file }), env: {}, log: pino({ level: 'silent' }), metrics: createMetrics({ defaults: false }), write: () => {} })
  await t.rejects(start(join(dir, 'missing')), { code: 'KC_BAD_CONFIG', message: `auditTokenFile ${join(dir, 'missing')}: ENOENT` })
  writeFileSync(join(dir, 'empty'), '\n')
  await t.rejects(start(join(dir, 'empty')), { code: 'KC_BAD_CONFIG', message: `auditTokenFile ${join(dir, 'empty')}: empty` })
})

t.test('an open /audit on a non-loopback address is logged as a warning at start', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-auth-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const lines: string[] = []
  const log = pino({ level: 'info' }, { write: (l: string) => { lines.push(l) } })
  for (const host of ['0.0.0.0', '127.0.0.1']) {
    const app = await createApp({ config: applyFile(structuredClone(DEFAULTS), { host, store: join(dir, `${host}.db`) }), env: {}, log, metrics: createMetrics({ defaults: false }), write: () => {} })
    await app.close()
  }
  const warnings = lines.map(l => JSON.parse(l)).filter(l => l.level === 40).map(l => l.msg)
  t.same(warnings, ['POST /audit accepts unauthenticated events: anyone who reaches this port can forge changes (set --audit-token-file and/or --client-ca)'], 'once, for 0.0.0.0 only')
})

t.test('client CA and token together: /audit needs both, over real HTTPS', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-auth-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bundle = generateCertificates({ service: 'kubechanges', namespace: 'kubechanges', client: true })
  await writeCertificates(dir, bundle)
  writeFileSync(join(dir, 'audit-token'), TOKEN)
  const config = applyFile(structuredClone(DEFAULTS), { port: 0, store: join(dir, 'c.db'), auditTokenFile: join(dir, 'audit-token'), tls: { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), clientCA: join(dir, 'ca.crt') } })
  const app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), metrics: createMetrics({ defaults: false }), write: () => {} })
  t.teardown(app.close)
  const port = Number(new URL(await app.listen()).port)
  const ca = bundle.caCert
  const body = JSON.stringify({ kind: 'EventList', items: [] })
  const cert = { cert: bundle.clientCert!, key: bundle.clientKey! }
  t.same(JSON.parse((await httpsRequest(port, '/audit', { ca, token: TOKEN, body })).body), { code: 'KC_UNAUTHORIZED', message: '/audit requires a client certificate signed by the configured client CA' }, 'token without certificate')
  t.same(JSON.parse((await httpsRequest(port, '/audit', { ca, ...cert, body })).body), { code: 'KC_UNAUTHORIZED', message: '/audit requires the audit bearer token (users[].user.token in the webhook kubeconfig)' }, 'certificate without token')
  t.equal((await httpsRequest(port, '/audit', { ca, ...cert, token: 'wrong', body })).status, 401, 'certificate with a wrong token')
  t.same(await httpsRequest(port, '/audit', { ca, ...cert, token: TOKEN, body }), { status: 200, body: '{"received":0,"observations":0,"dropped":0,"malformed":0}' }, 'both')
})
