import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyFile, DEFAULTS, loadConfig } from '../src/config.js'

// Defaults < file < environment < flags; every error names the key.

t.test('precedence and parsing', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cfg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'port: 9000\nhost: 0.0.0.0\nstore: /tmp/x.db\nquietPeriodSeconds: 2\nwindow: { maxObjects: 5, ttlSeconds: 60 }\nretention: { maxAgeDays: 7, maxCount: 10 }\nignore: { namespaces: [kube-system], kinds: [Lease] }\nwatch: { enabled: false, namespaces: "a, b", labelSelector: "team=x" }\nexternalURL: https://kc.example.com/\nbodyLimitBytes: 2048\nmaxJsonDepth: 16\nlogLevel: debug\n')
  const c = loadConfig({ config: file }, {})
  t.same({ port: c.port, host: c.host, store: c.store, quiet: c.quietPeriodSeconds, window: c.window, retention: c.retention, ignore: c.ignore, watch: c.watch, url: c.externalURL, body: c.bodyLimitBytes, depth: c.maxJsonDepth, level: c.logLevel }, {
    port: 9000, host: '0.0.0.0', store: '/tmp/x.db', quiet: 2, window: { maxObjects: 5, ttlSeconds: 60 }, retention: { maxAgeDays: 7, maxCount: 10 },
    ignore: { namespaces: ['kube-system'], kinds: ['Lease'] }, watch: { enabled: false, namespaces: ['a', 'b'], kinds: [], extraKinds: [], labelSelector: 'team=x' }, url: 'https://kc.example.com', body: 2048, depth: 16, level: 'debug'
  })
  const env = { KUBECHANGES_CONFIG: file, KUBECHANGES_PORT: '9100', KUBECHANGES_HOST: '::1', KUBECHANGES_STORE: 'env.db', KUBECHANGES_API_TOKEN: 'tok', KUBECHANGES_LOG_LEVEL: 'warn', KUBECHANGES_EXTERNAL_URL: 'https://other.example.com' }
  const e = loadConfig({}, env)
  t.same([e.port, e.host, e.store, e.apiToken, e.logLevel, e.externalURL], [9100, '::1', 'env.db', 'tok', 'warn', 'https://other.example.com'])
  const f = loadConfig({ port: '9200', store: 'flag.db', host: '127.0.0.2' }, env)
  t.same([f.port, f.store, f.host], [9200, 'flag.db', '127.0.0.2'], 'flags win')
  writeFileSync(file, '{"port": 1234}')
  t.equal(loadConfig({ config: file }, {}).port, 1234, 'JSON works too')
  t.same(loadConfig({}, {}), DEFAULTS)
})

t.test('errors name the key', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cfg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bad = (raw: unknown): string => { try { applyFile(structuredClone(DEFAULTS), raw); return 'no error' } catch (e) { return `${(e as any).code as string}: ${(e as Error).message}` } }
  t.equal(bad({ prot: 1 }), `KC_BAD_CONFIG: prot: unknown key (expected one of host, port, store, quietPeriodSeconds, window, retention, bodyLimitBytes, maxJsonDepth, ignore, watch, externalURL, tls, apiTokenFile, notify, logLevel, kinds)`)
  t.equal(bad({ port: 70000 }), 'KC_BAD_CONFIG: port: expected a number from 0 to 65535, got 70000')
  t.equal(bad({ port: 1.5 }), 'KC_BAD_CONFIG: port: expected a whole number, got 1.5')
  t.equal(bad({ window: { max: 1 } }), 'KC_BAD_CONFIG: window.max: unknown key (expected one of maxObjects, ttlSeconds)')
  t.equal(bad({ window: 3 }), 'KC_BAD_CONFIG: window: expected a mapping')
  t.equal(bad({ ignore: { namespaces: [1] } }), 'KC_BAD_CONFIG: ignore.namespaces[0]: expected a non-empty string')
  t.equal(bad({ ignore: { kinds: 7 } }), 'KC_BAD_CONFIG: ignore.kinds: expected a list of strings')
  t.equal(bad({ watch: { enabled: 'sometimes' } }), 'KC_BAD_CONFIG: watch.enabled: expected true or false')
  t.equal(bad({ externalURL: 'not a url' }), 'KC_BAD_CONFIG: externalURL: not a URL')
  t.equal(bad({ host: '' }), 'KC_BAD_CONFIG: host: expected a non-empty string')
  t.equal(bad([1]), 'KC_BAD_CONFIG: config: expected a mapping at the top level')
  t.equal(bad(null), 'no error', 'an empty file is the defaults')
  t.throws(() => loadConfig({ config: join(dir, 'missing.yaml') }, {}), { code: 'KC_BAD_CONFIG', message: `config file ${join(dir, 'missing.yaml')}: ENOENT` })
  writeFileSync(join(dir, 'broken.yaml'), 'port: [1\n')
  t.throws(() => loadConfig({ config: join(dir, 'broken.yaml') }, {}), { code: 'KC_BAD_CONFIG', message: /^config file .*broken\.yaml: / })
  t.throws(() => loadConfig({ 'tls-cert': 'a.crt' }, {}), { message: 'tls: --tls-cert and --tls-key go together' })
  t.throws(() => loadConfig({ 'client-ca': 'ca.crt' }, {}), { message: 'tls.clientCA: client verification needs --tls-cert and --tls-key' })
  t.throws(() => loadConfig({}, { KUBECHANGES_PORT: 'x' }), { message: 'KUBECHANGES_PORT: expected a number from 0 to 65535, got "x"' })
})
