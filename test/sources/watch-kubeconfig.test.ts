import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadKubeConfig } from '../../src/sources/watch/kubeconfig.js'

// Which credentials serve watches with, by kubectl's loading rules; what the
// CLI prints for each is in test/cli/serve-kubeconfig.test.ts.

const dir = mkdtempSync(join(tmpdir(), 'kc-loadkc-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

function file (name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

function config (o: { clusters?: string[], users?: string[], contexts?: Array<[string, string, string]>, current?: string, server?: string, ca?: string }): string {
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:']
  for (const c of o.clusters ?? []) lines.push(`- name: ${c}`, '  cluster:', `    server: ${o.server ?? `https://${c}.example.com:6443`}`, ...(o.ca !== undefined ? [`    certificate-authority: ${o.ca}`] : []))
  lines.push('users:')
  for (const u of o.users ?? []) lines.push(`- name: ${u}`, `  user: { token: token-${u} }`)
  lines.push('contexts:')
  for (const [n, c, u] of o.contexts ?? []) lines.push(`- name: ${n}`, `  context: { cluster: ${c}, user: ${u} }`)
  if (o.current !== undefined) lines.push(`current-context: ${o.current}`)
  return lines.join('\n') + '\n'
}

const home = join(dir, 'home')
mkdirSync(home)

t.test('nothing configured: no cluster', async t => {
  t.same(loadKubeConfig({}, home), { kind: 'none', message: 'no cluster found (no KUBECONFIG, no ~/.kube/config, not in a pod): running audit/admission-only' })
  t.match(loadKubeConfig({ KUBECONFIG: `${join(dir, 'a')}::${join(dir, 'b')}` }, home), { kind: 'none', message: /^KUBECONFIG names no file that exists/ })
})

t.test('several files merge as kubectl merges them: missing ones skipped, the first name wins', async t => {
  const a = file('a.yaml', config({ clusters: ['one'], users: ['alice'], contexts: [['work', 'one', 'alice']], current: 'work' }))
  const b = file('b.yaml', config({ clusters: ['one', 'two'], users: ['alice', 'bob'], contexts: [['work', 'two', 'bob'], ['lab', 'two', 'bob']], current: 'lab' }))
  const r = loadKubeConfig({ KUBECONFIG: [join(dir, 'missing.yaml'), a, b].join(':') }, home)
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r))
  t.equal(r.kc.currentContext, 'work', 'current-context from the first file that sets one')
  t.equal(r.kc.getCurrentCluster()?.server, 'https://one.example.com:6443')
  t.same(r.kc.clusters.map(c => c.name), ['one', 'two'], 'a repeated name is not an error: the first wins')
  t.equal(r.kc.getCurrentUser()?.token, 'token-alice')
})

t.test('~/.kube/config when KUBECONFIG is unset; relative certificate paths are relative to the file', async t => {
  const h = join(dir, 'h2')
  mkdirSync(join(h, '.kube'), { recursive: true })
  writeFileSync(join(h, '.kube', 'ca.crt'), 'x')
  writeFileSync(join(h, '.kube', 'config'), config({ clusters: ['k'], users: ['u'], contexts: [['c', 'k', 'u']], current: 'c', ca: 'ca.crt' }))
  const r = loadKubeConfig({}, h)
  t.equal(r.kind, 'ok')
  if (r.kind === 'ok') {
    t.equal(r.source, join(h, '.kube', 'config'))
    t.equal(r.kc.getCurrentCluster()?.caFile, join(h, '.kube', 'ca.crt'))
  }
})

t.test('kubeconfigs that cannot be used say why in one line', async t => {
  const cases: Array<[string, string, RegExp]> = [
    ['nocurrent.yaml', config({ clusters: ['k'], users: ['u'], contexts: [['c', 'k', 'u']] }), /cannot be used: no current-context is set: running/],
    ['nocluster.yaml', config({ clusters: ['k'], users: ['u'], contexts: [['c', 'other', 'u']], current: 'c' }), /context "c" names cluster "other", which it does not define/],
    ['nouser.yaml', config({ clusters: ['k'], users: ['u'], contexts: [['c', 'k', 'ghost']], current: 'c' }), /context "c" names user "ghost", which it does not define/],
    ['badserver.yaml', config({ clusters: ['k'], users: ['u'], contexts: [['c', 'k', 'u']], current: 'c', server: 'not a url' }), /cluster "k" has a server that is not a URL: "not a url"/],
    ['scalar.yaml', 'just a string\n', /cannot be used: it defines no clusters/],
    ['empty.yaml', '', /cannot be used: it defines no clusters/],
    ['noserver.yaml', 'clusters:\n- name: k\n  cluster: {}\n', /cannot be used: not a valid kubeconfig: clusters\[0\]\.cluster\.server is missing/]
  ]
  for (const [name, text, why] of cases) {
    const r = loadKubeConfig({ KUBECONFIG: file(name, text) }, home)
    t.equal(r.kind, 'unusable', name)
    if (r.kind === 'unusable') {
      t.match(r.message, why, name)
      t.notOk(r.message.includes('\n'), 'one line')
    }
  }
  const dirAsFile = join(dir, 'adir')
  mkdirSync(dirAsFile)
  t.match(loadKubeConfig({ KUBECONFIG: dirAsFile }, home), { kind: 'unusable', message: /kubeconfig .*adir cannot be used: cannot read it \(EISDIR\)/ })
})
