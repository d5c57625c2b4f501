import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Cluster, USERS, R } from '../helpers/cluster.js'

// `kubechanges serve` as a user runs it: a real process, configured by the
// environment, on the embedded default (no cluster: audit-only, SQLite,
// changes on stdout).

const ROOT = join(import.meta.dirname, '../..')
// The children run src through tsx, whose source maps differ from the test
// loader's: their coverage would corrupt the merged report, so they record none.
const NO_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }

interface Proc { child: ChildProcess, url: string, stdout: string[], stderr: string[] }

async function start (env: NodeJS.ProcessEnv): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve'], { env: { PATH: process.env.PATH, ...NO_COVERAGE, ...env }, cwd: ROOT })
  const stdout: string[] = []
  const stderr: string[] = []
  let url: string | undefined
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr.join('')}`)), 30_000)
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr.push(d)
      const m = /"address":"(http[^"]+)".*kubechanges listening/.exec(stderr.join(''))
      if (m !== null && url === undefined) {
        url = m[1]!
        clearTimeout(timer)
        resolve(url)
      }
    })
    child.once('exit', code => reject(new Error(`serve exited ${String(code)}: ${stderr.join('')}`)))
  })
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout.push(d) })
  return { child, url: await listening, stdout, stderr }
}

async function stop (p: Proc): Promise<number | null> {
  p.child.kill('SIGTERM')
  const [code] = await once(p.child, 'close')
  return code as number | null
}

async function until<T> (f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 50))
  }
}

t.test('serve on the embedded default, configured by environment variables', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-serve-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'config.yaml'), 'quietPeriodSeconds: 0.2\n')
  const env = { HOME: dir, KUBECHANGES_HOST: '127.0.0.1', KUBECHANGES_PORT: '0', KUBECHANGES_STORE: join(dir, 'changes.db'), KUBECHANGES_CONFIG: join(dir, 'config.yaml') }
  const p = await start(env)
  t.match(p.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const said = p.stderr.join('').split('\n').filter(l => l.includes('no cluster found'))
  t.equal(said.length, 1, 'says once that no cluster was found')
  t.match(p.stderr.join(''), /"msg":"delivery: sinks: log \(log to stdout\); routes: 0; default: log"/, 'says where changes go')

  const c = new Cluster(new Date().toISOString())
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'x' }, data: { a: '1' } })
  const res = await fetch(`${p.url}/audit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'EventList', items: c.take() }) })
  t.equal(res.status, 200)
  // The wall clock ends the quiet period: no further event is needed.
  const line = await until(() => p.stdout.join('').split('\n').find(l => l.startsWith('{')))
  const change = JSON.parse(line)
  t.equal(change.summary, 'ConfigMap x/live created, by alice@example.com')
  t.equal(p.stdout.join('').trim().split('\n').length, 1, 'stdout carries the change and nothing else')
  t.equal(await stop(p), 0)

  const again = await start(env)
  t.teardown(() => { again.child.kill('SIGKILL') })
  const list = await (await fetch(`${again.url}/changes`)).json() as { items: Array<{ id: string }> }
  t.same(list.items.map(i => i.id), [change.id], 'the change survived the restart')
  t.equal(await stop(again), 0)
})

t.test('flags win over the environment; a bad port is a clear error', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-serve-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--port', 'eighty'], { env: { PATH: process.env.PATH, ...NO_COVERAGE, HOME: dir, KUBECHANGES_PORT: '0' } })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const [code] = await once(child, 'close')
  t.equal(code, 2)
  t.equal(err.trim(), 'kubechanges: KC_BAD_CONFIG: --port: expected a number from 0 to 65535, got "eighty"')
})
