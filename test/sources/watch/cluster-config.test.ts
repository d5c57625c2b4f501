import t, { type Test } from 'tap'
import http from 'node:http'
import https from 'node:https'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { ClusterConfig } from '../../../src/sources/watch/cluster-config.js'

// ClusterConfig stands in for client-node's KubeConfig without importing
// client-node's index (about 70 MB resident). Each kubeconfig here is loaded
// by both and applied to request options: what ends up on the request (TLS
// material, Authorization, basic auth, impersonation, the agent's kind) must
// be the same, so the watch authenticates exactly as client-node would.

const dir = mkdtempSync(join(tmpdir(), 'kc-clusterconfig-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }

const ca = file('ca.crt', 'CA-PEM')
const cert = file('client.crt', 'CERT-PEM')
const key = file('client.key', 'KEY-PEM')
const tokenFile = file('token', 'file-token-1')
const plugin = file('plugin.mjs', `console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'exec-token-' + process.argv[2], expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }))\n`)
chmodSync(plugin, 0o755)

function kubeconfig (cluster: string, user: string): string {
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters:', '- name: k', '  cluster:', ...cluster.split('\n').map(l => `    ${l}`),
    'users:', '- name: u', '  user:', ...user.split('\n').map(l => `    ${l}`),
    'contexts:', '- name: c', '  context: { cluster: k, user: u, namespace: ns }'
  ].join('\n') + '\n'
}

interface Applied { ca?: string, cert?: string, key?: string, headers?: unknown, auth?: string, rejectUnauthorized?: boolean, servername?: string, agent?: string }
async function applied (kc: { applyToHTTPSOptions: (o: https.RequestOptions) => Promise<void> }): Promise<Applied | { error: string }> {
  const opts: https.RequestOptions = { headers: { Accept: 'application/json' } }
  try {
    await kc.applyToHTTPSOptions(opts)
  } catch (e) {
    return { error: (e as Error).message }
  }
  const s = (b: unknown): string | undefined => b === undefined ? undefined : String(b)
  const agent = opts.agent === undefined || opts.agent === false ? undefined : (opts.agent as object).constructor.name
  return { ca: s(opts.ca), cert: s(opts.cert), key: s(opts.key), headers: opts.headers, auth: opts.auth ?? undefined, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername, agent }
}

const cases: Array<[string, string, string]> = [
  ['bearer token, CA from a file', `server: https://k.example:6443\ncertificate-authority: ${ca}`, 'token: abc'],
  ['client certificate files, TLS server name', `server: https://k.example:6443\ntls-server-name: api.internal\ncertificate-authority: ${ca}`, `client-certificate: ${cert}\nclient-key: ${key}`],
  ['inline data, impersonation', `server: https://k.example:6443\ncertificate-authority-data: ${Buffer.from('CA-DATA').toString('base64')}`, `client-certificate-data: ${Buffer.from('CERT-DATA').toString('base64')}\nclient-key-data: ${Buffer.from('KEY-DATA').toString('base64')}\nas: ops-bot\ntoken: t2`],
  ['basic auth, insecure-skip-tls-verify', 'server: https://k.example:6443\ninsecure-skip-tls-verify: true', 'username: admin\npassword: s3cret'],
  ['plain http with insecure-skip-tls-verify (kubectl proxy, kind)', 'server: http://127.0.0.1:8001\ninsecure-skip-tls-verify: true', 'token: abc'],
  ['plain http without it is refused', 'server: http://127.0.0.1:8001', 'token: abc'],
  ['token file (what in-cluster service accounts use)', 'server: https://k.example:6443', `auth-provider:\n  name: tokenFile\n  config: { tokenFile: ${tokenFile} }`],
  ['exec credential plugin', 'server: https://k.example:6443', `exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ${process.execPath}\n  args: [${plugin}, one]\n  interactiveMode: Never`],
  ['a proxy-url goes through client-node itself', 'server: https://k.example:6443\nproxy-url: http://proxy.example:3128', 'token: abc'],
  ['no user at all', 'server: https://k.example:6443', '{}']
]

for (const [name, cluster, user] of cases) {
  t.test(name, async t => {
    const text = kubeconfig(cluster, user)
    const theirs = new KubeConfig()
    theirs.loadFromString(text)
    const ours = new ClusterConfig()
    ours.loadFromString(text)
    t.same(ours.getCurrentCluster(), theirs.getCurrentCluster(), 'the same cluster')
    t.same(ours.getCurrentUser(), theirs.getCurrentUser(), 'the same user')
    const expected = await applied(theirs)
    t.same(await applied(ours), expected, 'the same request options')
    // Only a proxy and the azure/gcp/oidc providers may need client-node's index (its ~70 MB).
    t.equal(ours.authBy() === 'client-node', name.includes('proxy-url'), `applied by ${ours.authBy()}`)
    const bearer = { 'token file (what in-cluster service accounts use)': 'Bearer file-token-1', 'exec credential plugin': 'Bearer exec-token-one', 'bearer token, CA from a file': 'Bearer abc' }[name]
    if (bearer !== undefined) t.match(expected, { headers: { Authorization: bearer } }, 'the credential itself')
    // A second request (cached tokens and credentials) too.
    t.same(await applied(ours), await applied(theirs), 'and again')
  })
}

t.test('YAML anchors and merge keys, as client-node (js-yaml) reads them', async t => {
  const text = [
    'current-context: c',
    'clusters:',
    '- name: k',
    '  cluster: &base { server: "https://k.example:6443", insecure-skip-tls-verify: true }',
    '- name: k2',
    '  cluster:',
    '    <<: *base',
    '    tls-server-name: other.internal',
    'users: [{ name: u, user: { token: abc } }]',
    'contexts: [{ name: c, context: { cluster: k2, user: u } }]'
  ].join('\n')
  const theirs = new KubeConfig()
  theirs.loadFromString(text)
  const ours = new ClusterConfig()
  ours.loadFromString(text)
  t.same(ours.getCurrentCluster(), theirs.getCurrentCluster())
  t.match(ours.getCurrentCluster(), { server: 'https://k.example:6443', skipTLSVerify: true, tlsServerName: 'other.internal' })
  t.same(await applied(ours), await applied(theirs))
})

t.test('a user the context does not name: nothing applied, as client-node', async t => {
  const text = kubeconfig('server: https://k.example:6443', 'token: abc').replace('user: u, namespace', 'user: ghost, namespace')
  const theirs = new KubeConfig()
  theirs.loadFromString(text)
  const ours = new ClusterConfig()
  ours.loadFromString(text)
  t.same(await applied(ours), await applied(theirs))
})

t.test('the in-cluster service account, as loadFromCluster', async t => {
  const root = mkdtempSync(join(dir, 'sa-'))
  writeFileSync(join(root, 'token'), 'sa-token')
  writeFileSync(join(root, 'ca.crt'), 'SA-CA')
  writeFileSync(join(root, 'namespace'), 'kubechanges')
  const ours = new ClusterConfig()
  ours.loadFromCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, root)
  t.same(ours.getCurrentCluster(), { name: 'inCluster', caFile: join(root, 'ca.crt'), server: 'https://[fd00::1]:443', skipTLSVerify: false })
  t.same(ours.getContextObject('inClusterContext')?.namespace, 'kubechanges')
  t.match(await applied(ours), { ca: 'SA-CA', headers: { Authorization: 'Bearer sa-token' }, agent: 'Agent' })
  t.equal(ours.authBy(), 'file', 'the pod\'s token file is read here, without client-node\'s index')
  const plain = new ClusterConfig()
  plain.loadFromCluster({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '8080' }, root)
  t.equal(plain.getCurrentCluster()?.server, 'http://10.96.0.1:8080')
})

/** A loopback server that remembers the Authorization header it last saw. */
async function authServer (t: Test): Promise<{ port: number, seen: () => string | undefined }> {
  let seen: string | undefined
  const server = http.createServer((req, res) => { seen = req.headers.authorization; res.end('{}') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { port: (server.address() as { port: number }).port, seen: () => seen }
}

t.test('requests really carry it: a bearer token reaches a loopback server', async t => {
  const { port, seen } = await authServer(t)
  const ours = new ClusterConfig()
  ours.loadFromString(kubeconfig(`server: http://127.0.0.1:${port}\ninsecure-skip-tls-verify: true`, 'token: over-the-wire'))
  const opts: https.RequestOptions = { headers: {} }
  await ours.applyToHTTPSOptions(opts)
  await new Promise<void>((resolve, reject) => http.get(`http://127.0.0.1:${port}/api`, opts, res => { res.resume(); res.on('end', resolve) }).on('error', reject))
  t.equal(seen(), 'Bearer over-the-wire')
  t.ok(opts.agent instanceof http.Agent)
  ;(opts.agent as http.Agent).destroy()
})

t.test('a token file ending in a newline: trimmed, as client-go does, and the request goes out', async t => {
  const { port, seen } = await authServer(t)
  const withNewline = file('token-nl', 'file-token-2\n')
  const ours = new ClusterConfig()
  ours.loadFromString(kubeconfig(`server: http://127.0.0.1:${port}\ninsecure-skip-tls-verify: true`, `auth-provider:\n  name: tokenFile\n  config: { tokenFile: ${withNewline} }`))
  const opts: https.RequestOptions = { headers: {} }
  await ours.applyToHTTPSOptions(opts)
  t.same(opts.headers, { Authorization: 'Bearer file-token-2' })
  await new Promise<void>((resolve, reject) => http.get(`http://127.0.0.1:${port}/api`, opts, res => { res.resume(); res.on('end', resolve) }).on('error', reject))
  t.equal(seen(), 'Bearer file-token-2', 'the apiserver sees the token')
  ;(opts.agent as http.Agent).destroy()
})
