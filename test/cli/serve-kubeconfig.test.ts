import t from 'tap'
import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { FakeApiServer } from '../helpers/fake-apiserver.js'

// `kubechanges serve` (the built CLI, dist/cli.js: run `npm run build`
// first) with kubeconfigs a user really has: KUBECONFIG naming files that do
// not exist, broken YAML, a current-context that is not defined, an
// unreadable certificate file, no clusters. kubectl treats missing files as
// empty config; serve says one clear line and runs audit/admission-only,
// never a stack trace, never an exit.

const ROOT = join(import.meta.dirname, '../..')
const CLI = join(ROOT, 'dist/cli.js')
const NO_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }

interface Proc { child: ChildProcess, url: string, stderr: () => string[] }

async function serve (dir: string, kubeconfig: string): Promise<Proc> {
  mkdirSync(dir, { recursive: true })
  const env = { PATH: process.env.PATH, ...NO_COVERAGE, HOME: dir, KUBECONFIG: kubeconfig, KUBECHANGES_PORT: '0', KUBECHANGES_STORE: join(dir, 'changes.db'), KUBECHANGES_LOG_LEVEL: 'info' }
  const child = spawn(process.execPath, [CLI, 'serve'], { env, cwd: dir })
  let err = ''
  child.stdout.resume()
  const url = await new Promise<string>((resolve, reject) => {
    // A start that fails must not leave the server running behind the test.
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`serve did not start: ${err}`)) }, 240_000)
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d
      const m = /"address":"(http[^"]+)".*kubechanges listening/.exec(err)
      if (m !== null) { clearTimeout(timer); resolve(m[1]) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`serve exited ${String(code)}: ${err}`)) })
  })
  return { child, url, stderr: () => err.split('\n').filter(l => l !== '') }
}

/** SIGTERM, wait for the exit, and check the process is gone. */
async function stop (t: Test, p: Proc): Promise<void> {
  const pid = p.child.pid as number
  const exited = once(p.child, 'close')
  p.child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0, 'exits 0 on SIGTERM')
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the process is gone')
}

async function postAudit (url: string): Promise<number> {
  const c = new Cluster(new Date().toISOString())
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'x' }, data: { a: '1' } })
  const res = await fetch(`${url}/audit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'EventList', items: c.take() }) })
  return res.status
}

function kubeconfig (server: string, extra: { context?: string, ca?: string } = {}): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    extra.ca !== undefined ? `    certificate-authority: ${extra.ca}` : '    insecure-skip-tls-verify: true',
    'users:',
    '- name: u',
    '  user: {}',
    'contexts:',
    '- name: c',
    '  context: { cluster: fake, user: u }',
    `current-context: ${extra.context ?? 'c'}`,
    ''
  ].join('\n')
}

const dir = mkdtempSync(join(tmpdir(), 'kc-kubeconfig-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

t.before(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first')
})

// A directory where the certificate should be: unreadable for every user, root included.
const unreadable = join(dir, 'ca-unreadable.crt')
mkdirSync(unreadable)
const cases: Array<{ name: string, file?: string, content?: string, kubeconfig?: string, level: 'info' | 'error', line: RegExp }> = [
  {
    name: 'KUBECONFIG naming files that do not exist (a colon-separated list)',
    kubeconfig: `${join(dir, 'nope-a')}:${join(dir, 'nope-b')}`,
    level: 'info',
    line: /^KUBECONFIG names no file that exists \(.*nope-a, .*nope-b\), so, as for kubectl, there is no cluster config: running audit\/admission-only$/
  },
  { name: 'bad YAML', file: 'bad.yaml', content: 'clusters: [\n  - name: x\n  cluster: {', level: 'error', line: /^kubeconfig .*bad\.yaml cannot be used: not a valid kubeconfig: .+: running audit\/admission-only$/ },
  { name: 'unknown current-context', file: 'ctx.yaml', content: kubeconfig('https://127.0.0.1:6443', { context: 'prod' }), level: 'error', line: /^kubeconfig \(KUBECONFIG=.*ctx\.yaml\) cannot be used: current-context "prod" is not among its contexts \(c\): running audit\/admission-only$/ },
  { name: 'missing certificate file', file: 'ca.yaml', content: kubeconfig('https://127.0.0.1:6443', { ca: 'no-such-ca.crt' }), level: 'error', line: /^kubeconfig \(KUBECONFIG=.*\) cannot be used: its certificate-authority file .*\/no-such-ca\.crt cannot be read \(ENOENT\): running audit\/admission-only$/ },
  { name: 'unreadable certificate file', file: 'ca2.yaml', content: kubeconfig('https://127.0.0.1:6443', { ca: unreadable }), level: 'error', line: /cannot be used: its certificate-authority file .*ca-unreadable\.crt cannot be read \(EISDIR\): running audit\/admission-only$/ },
  { name: 'no clusters', file: 'empty.yaml', content: 'apiVersion: v1\nkind: Config\nclusters: []\n', level: 'error', line: /^kubeconfig \(KUBECONFIG=.*empty\.yaml\) cannot be used: it defines no clusters: running audit\/admission-only$/ }
]

// Each case is a process start (seconds on a busy machine): all start at once.
t.setTimeout(600_000)
t.test('each unusable kubeconfig: one clear line, no stack trace, audit-only, exit 0 on SIGTERM', async t => {
  const procs = await Promise.all(cases.map(async c => {
    let kc = c.kubeconfig ?? ''
    if (c.file !== undefined) {
      kc = join(dir, c.file)
      writeFileSync(kc, c.content ?? '')
    }
    const p = await serve(join(dir, `run-${cases.indexOf(c)}`), kc)
    t.teardown(() => { p.child.kill('SIGKILL') })
    return p
  }))
  for (const [i, c] of cases.entries()) {
    const p = procs[i]
    t.equal(await postAudit(p.url), 200, `${c.name}: POST /audit is served`)
    t.equal((await fetch(`${p.url}/readyz`)).status, 200, `${c.name}: ready, nothing to wait for in audit-only mode`)
    const lines = p.stderr()
    const parsed = lines.map(l => JSON.parse(l) as { level: number, msg: string })
    t.notOk(lines.some(l => /\bat .*\.js:\d+/.test(l) || l.includes('"stack"')), `${c.name}: no stack trace`)
    const said = parsed.filter(l => c.line.test(l.msg))
    t.equal(said.length, 1, `${c.name}: says once ${String(c.line)}`)
    t.equal(said[0]?.level, c.level === 'error' ? 50 : 30, `${c.name}: at level ${c.level}`)
    t.notOk(parsed.some(l => l.msg === 'watching the cluster'), `${c.name}: no watch`)
  }
  for (const p of procs) await stop(t, p)
})

t.test('a missing file in KUBECONFIG next to a good one: the good one is used (kubectl semantics), the watch runs', async t => {
  const api = await FakeApiServer.create()
  t.teardown(async () => { await api.close() })
  const good = join(dir, 'good.yaml')
  writeFileSync(good, kubeconfig(api.url))
  const p = await serve(join(dir, 'run-good'), `${join(dir, 'missing')}:${good}`)
  t.teardown(() => { p.child.kill('SIGKILL') })
  const end = Date.now() + 120_000
  let ready = 0
  while (ready !== 200 && Date.now() < end) {
    ready = (await fetch(`${p.url}/readyz`)).status
    if (ready !== 200) await new Promise(r => setTimeout(r, 100))
  }
  t.equal(ready, 200, 'ready once every informer listed')
  t.ok(p.stderr().some(l => l.includes('"msg":"watching the cluster"') && l.includes(api.url)), 'watching the server of the good file')
  t.ok(api.counts('/apis/apps/v1/deployments').list >= 1, 'the fake apiserver was listed')
  t.equal(await postAudit(p.url), 200)
  await stop(t, p)
})
