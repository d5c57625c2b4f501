import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'

const ROOT = join(import.meta.dirname, '../..')
const EXAMPLE = join(ROOT, 'examples/shop.audit.log')

async function run (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, out: string[], err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: l => out.push(l), err: l => err.push(l), env })
  return { code, out, err }
}

t.test('replay --json on the shipped example: exactly these changes, one JSON object per line, nothing else', async t => {
  const r = await run(['replay', '--json', EXAMPLE])
  t.equal(r.code, 0)
  const changes = r.out.map(l => JSON.parse(l))
  t.same(changes.map(c => c.summary), [
    'Service shop/web created, by alice@example.com: ClusterIP 10.96.0.20, port 80/TCP, selector app=web',
    'Deployment shop/web created, by alice@example.com, 4/4 available in 19 s',
    'ConfigMap shop/web-config created, by alice@example.com',
    'ConfigMap shop/web-config updated, by bob@example.com: keys ~FEATURE_X',
    'Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, by alice@example.com, 4/4 available in 23 s',
    'Deployment shop/web scaled 4 → 6, by system:serviceaccount:kube-system:horizontal-pod-autoscaler, 6/6 available in 3 s',
    'shop/web endpoints changed +10.1.3.7 −10.1.2.14',
    'Job batch/nightly-report succeeded in 12 min, by system:serviceaccount:ci:deployer'
  ])
  for (const c of changes) {
    t.hasStrict(Object.keys(c).sort(), ['actor', 'auditIDs', 'counts', 'details', 'durationMs', 'endedAt', 'id', 'object', 'outcome', 'startedAt', 'summary', 'timeline', 'type'])
  }
  const again = await run(['replay', '--json', EXAMPLE])
  t.same(again.out.map(l => JSON.parse(l).id), changes.map(c => c.id), 'ids are deterministic')
})

t.test('replay: the human format, an EventList file, an unfinished rollout reported open, bad input', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-replay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = new Cluster()
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'slow', 'slow:1', 3))
  c.runDeploymentController('shop', 'slow', { stall: true })
  const list = join(dir, 'list.json')
  writeFileSync(list, JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: c.take() }, null, 2))
  const r = await run(['replay', list])
  t.equal(r.code, 0)
  t.equal(r.out.length, 1)
  t.match(r.out[0], /^2026-11-20T10:00:\d\d\.\d{3}Z {2}create {4}open {6}Deployment shop\/slow created, by alice@example\.com, still in progress after \d+ s$/)
  t.same(r.err, ['1 changes from 1 lines'])

  const junk = join(dir, 'junk.log')
  writeFileSync(junk, 'not json\n{"kind":0}\n\n')
  const j = await run(['replay', '--json', junk])
  t.equal(j.code, 0)
  t.same(j.out, [])
  t.same(j.err, ['2 malformed events skipped'])

  t.equal((await run(['replay'])).code, 2)
  const missing = await run(['replay', join(dir, 'nope.log')])
  t.equal(missing.code, 2)
  t.match(missing.err[0], /^kubechanges: KC_BAD_ARGUMENT: replay: cannot read .*nope\.log: ENOENT$/)
  t.equal((await run(['frobnicate'])).code, 2)
  t.equal((await run([])).code, 2)
  const bad = await run(['serve', '--bogus'])
  t.equal(bad.code, 2)
  t.match(bad.err[0], /Unknown option '--bogus'/)
  const badCfg = join(dir, 'bad.yaml')
  writeFileSync(badCfg, 'window:\n  maxObjects: lots\n')
  const cfg = await run(['replay', '--config', badCfg, EXAMPLE])
  t.equal(cfg.code, 2)
  t.same(cfg.err, ['kubechanges: KC_BAD_CONFIG: window.maxObjects: expected a number from 1 to 9007199254740991, got "lots"'])
})

t.test('the bin works from the checkout (npx kubechanges)', async t => {
  // The child runs the built dist/, whose coverage would be mapped onto src/ beside the test loader's: it records none.
  // A cache of its own: npx keeps a directory per checkout in the user's npm cache, and one left
  // half-written by a killed npx (seen here) made every later run fail with ENOENT.
  const cache = mkdtempSync(join(tmpdir(), 'kc-npx-cache-'))
  t.teardown(() => { rmSync(cache, { recursive: true, force: true }) })
  const r = spawnSync('npx', ['--no-install', 'kubechanges', 'replay', '--json', EXAMPLE], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', npm_config_cache: cache } })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stdout.trim().split('\n').length, 8)
})
