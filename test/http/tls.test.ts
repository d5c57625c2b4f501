import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { generateCertificates, writeCertificates } from '../../src/tls/certs.js'
import { createApp } from '../../src/app.js'
import { applyFile, DEFAULTS } from '../../src/config.js'
import { createMetrics } from '../../src/metrics.js'
import { httpsRequest as request } from '../helpers/https.js'

// serve --tls-cert/--tls-key with --client-ca: HTTPS from the files `kubechanges
// certs` writes; /audit insists on a client certificate from that CA, the
// admission webhook and the API keep working without one.

t.test('HTTPS with the generated certificates, mTLS on /audit only', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bundle = generateCertificates({ service: 'kubechanges', namespace: 'kubechanges', client: true })
  await writeCertificates(dir, bundle)
  const config = applyFile(structuredClone(DEFAULTS), { port: 0, store: join(dir, 'c.db'), tls: { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), clientCA: join(dir, 'ca.crt') } })
  const app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), metrics: createMetrics({ defaults: false }), write: () => {} })
  t.teardown(app.close)
  const url = await app.listen()
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const port = Number(new URL(url).port)
  const ca = bundle.caCert
  const batch = JSON.stringify({ kind: 'EventList', items: [] })
  t.same(await request(port, '/healthz', { ca }), { status: 200, body: '{"status":"ok"}' })
  const anon = await request(port, '/audit', { ca, body: batch })
  t.equal(anon.status, 401)
  t.same(JSON.parse(anon.body), { code: 'KC_UNAUTHORIZED', message: '/audit requires a client certificate signed by the configured client CA' })
  const withCert = await request(port, '/audit', { ca, cert: bundle.clientCert!, key: bundle.clientKey!, body: batch })
  t.same(withCert, { status: 200, body: '{"received":0,"observations":0,"dropped":0,"malformed":0}' })
  const other = generateCertificates({ service: 'x', namespace: 'y', client: true })
  t.equal((await request(port, '/audit', { ca, cert: other.clientCert!, key: other.clientKey!, body: batch })).status, 401, 'a client certificate from another CA is refused')
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CONNECT' } })
  t.same(JSON.parse((await request(port, '/admission', { ca, body: review })).body), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: true } }, 'admission needs no client certificate')
  await t.rejects(request(port, '/healthz', { ca: other.caCert }), 'a client that trusts another CA refuses the server')
})
