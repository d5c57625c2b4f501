import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { applyFile, DEFAULTS, loadConfig } from '../../../src/config.js'
import { kindKeys, parseKinds, statusRuleFor } from '../../../src/detectors/status/index.js'
import { Cluster, USERS } from '../../helpers/cluster.js'
import { createRollout, gadget, setRolloutImage, widget } from '../../helpers/custom-resources.js'

// `kinds:` in the config file: CEL rules per resource.group, compiled and
// checked at start (errors name the key path, exit 2), "not yet" for what a
// status does not show yet.

const cfg = (kinds: unknown): { kinds: ReturnType<typeof parseKinds> } => ({ kinds: parseKinds(kinds) })
const badConfig = (kinds: unknown): string => {
  try { applyFile(structuredClone(DEFAULTS), { kinds }); return 'no error' } catch (e) { return `${(e as any).code as string}: ${(e as Error).message}` }
}

t.test('a CEL rule for a CRD', async t => {
  const config = cfg({
    'Widgets.Example.com': {
      succeeded: "object.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True') && object.status.observedGeneration >= generation",
      failed: "object.status.conditions.exists(c, c.type == 'Stalled' && c.status == 'True')",
      inProgress: "object.status.conditions.exists(c, c.type == 'Reconciling' && c.status == 'True')",
      timeoutSeconds: 120
    }
  })
  t.same(Object.keys(config.kinds), ['widgets.example.com'], 'keys are case-insensitive')
  const rule = statusRuleFor('Widget', 'example.com', config, 'widgets')
  t.equal(rule.name, 'kinds["widgets.example.com"]')
  t.equal(rule.timeoutSeconds, 120)
  t.equal(statusRuleFor('Widget', 'example.com', config), rule, 'compiled once, found by kind alone too')
  const c = new Cluster()
  const p = widget(c, USERS.alice, 'shop', 'w1', 'small')
  t.same([p.created, ...p.statuses].map(object => rule.evaluate({ object, generation: 1 })), [
    { state: 'waiting', reason: 'NoStatus', message: 'the object reports no status to wait for' },
    { state: 'waiting', reason: 'InProgress', message: `kinds["widgets.example.com"].inProgress: object.status.conditions.exists(c, c.type == 'Reconciling' && c.status == 'True')` },
    { state: 'succeeded', reason: 'Provisioned', message: 'a small widget is serving' }
  ], 'a field not there yet is "not yet", never an error')
  const bad = widget(c, USERS.alice, 'shop', 'w1', 'huge', 'failed')
  t.same(rule.evaluate({ object: bad.statuses.at(-1), generation: 2 }), { state: 'failed', reason: 'QuotaExceeded', message: 'no capacity for a huge widget' })
  t.same(rule.evaluate({ object: bad.statuses[0], generation: 2 }), { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 2, observed 1' }, 'a status from before the change is not judged')
})

t.test('a rule for a kind without standard status, and a partial override of a built-in', async t => {
  const config = cfg({
    'gadgets.example.com': { succeeded: "has(object.spec.color)" },
    'rollouts.argoproj.io': { failed: "object.status.phase == 'Paused'" }
  })
  const g = gadget(new Cluster(), USERS.alice, 'shop', 'g', 'red')
  t.same(statusRuleFor('Gadget', 'example.com', config).evaluate({ object: g.created }), { state: 'succeeded', message: 'kinds["gadgets.example.com"].succeeded: has(object.spec.color)' })
  const onlyFailed = statusRuleFor('Gadget', 'example.com', cfg({ 'gadgets.example.com': { failed: "object.spec.color == 'black'" } }))
  t.same(onlyFailed.evaluate({ object: g.created }), { state: 'none', reason: 'NoStatus', message: 'the object reports no status to wait for' }, 'no succeeded given: the generic verdict (applied) stands')
  t.same(onlyFailed.evaluate({ object: { ...g.created, spec: { color: 'black' } } }), { state: 'failed', reason: 'Failed', message: `kinds["gadgets.example.com"].failed: object.spec.color == 'black'` })
  const rule = statusRuleFor('Rollout', 'argoproj.io', config, 'rollouts')
  const c = new Cluster()
  createRollout(c, USERS.alice, 'shop', 'web', 'web:1.4')
  const p = setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.5')
  const states = p.statuses.map(object => rule.evaluate({ object, generation: 2 }).state)
  t.same(states, ['waiting', 'failed', 'waiting', 'succeeded'], 'failed from the config, succeeded still the built-in\'s')
  // String observedGeneration: the config's own expressions handle it with int().
  const s = cfg({ 'rollouts.argoproj.io': { succeeded: "int(object.status.observedGeneration) >= generation && object.status.phase == 'Healthy'" } })
  t.equal(statusRuleFor('Rollout', 'argoproj.io', s).evaluate({ object: p.statuses.at(-1), generation: 2 }).state, 'succeeded')
})

t.test('a non-bool result at run time: waiting, with the problem to log', async t => {
  const rule = statusRuleFor('Thing', 'example.com', cfg({ 'things.example.com': { succeeded: 'object.status.ready' } }))
  t.same(rule.evaluate({ object: { metadata: { generation: 1 }, status: { ready: 'yes' } } }), { state: 'waiting', reason: 'NoStandardStatus', message: 'the status has no observedGeneration and no conditions', problem: 'kinds["things.example.com"].succeeded: expected a bool, got string "yes"' })
  t.same(rule.evaluate({ object: { metadata: { generation: 1 }, status: { ready: true } } }).state, 'succeeded')
})

t.test('errors at start name the key path', async t => {
  t.equal(badConfig({ 'widgets.example.com': { succeeded: "object.status.phase ==" } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: Syntax error: 1:21: found = but expecting end of input')
  t.equal(badConfig({ 'widgets.example.com': { failed: "isBroken(object)" } }), `KC_BAD_CONFIG: kinds["widgets.example.com"].failed: unknown function 'isBroken'`)
  t.equal(badConfig({ 'widgets.example.com': { succeeded: "object.metadata.name" } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: expected a bool, got string "probe" (on a sample object)')
  t.equal(badConfig({ 'widgets.example.com': { succeeded: "'Ready'" } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: must be a bool expression, this one gives string')
  t.equal(badConfig({ 'widgets.example.com': { succeeded: "object.status.conditions.map(c, c.type)" } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: must be a bool expression, this one gives list')
  t.equal(badConfig({ 'widgets.example.com': { succeeded: '1 + 2' } }), `KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: must be a bool expression, this one gives the result of '+'`)
  t.equal(badConfig({ 'widgets.example.com': { succeeded: 7 } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: expected a CEL expression (a string)')
  t.equal(badConfig({ 'widgets.example.com': { succeded: 'true' } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].succeded: unknown key (expected one of succeeded, failed, inProgress, timeoutSeconds)')
  t.equal(badConfig({ 'widgets.example.com': {} }), 'KC_BAD_CONFIG: kinds["widgets.example.com"]: expected at least one of succeeded, failed, inProgress, timeoutSeconds')
  t.equal(badConfig({ 'widgets.example.com': 'x' }), 'KC_BAD_CONFIG: kinds["widgets.example.com"]: expected a mapping with succeeded, failed, inProgress, timeoutSeconds')
  t.equal(badConfig({ 'widgets.example.com': { timeoutSeconds: 0 } }), 'KC_BAD_CONFIG: kinds["widgets.example.com"].timeoutSeconds: expected a number of seconds from 1 to 604800, got 0')
  t.equal(badConfig({ 'Widget/example.com': { timeoutSeconds: 5 } }), 'KC_BAD_CONFIG: kinds["Widget/example.com"]: expected a kubectl resource.group name such as rollouts.argoproj.io')
  t.equal(badConfig({ 'widgets.example.com': { timeoutSeconds: 5 }, 'WIDGETS.example.com': { timeoutSeconds: 6 } }), 'KC_BAD_CONFIG: kinds["WIDGETS.example.com"]: given twice (names are case-insensitive)')
  t.equal(badConfig(['widgets']), 'KC_BAD_CONFIG: kinds: expected a mapping of resource.group (e.g. rollouts.argoproj.io) to rules')
  t.equal(badConfig(null), 'no error')
  t.same(applyFile(structuredClone(DEFAULTS), { kinds: { 'widgets.example.com': { timeoutSeconds: '30' } } }).kinds, { 'widgets.example.com': { timeoutSeconds: 30 } })
  t.same(kindKeys('Policy', 'example.com', 'policies'), ['policies.example.com', 'policy.example.com'])
  t.same(kindKeys('Ingress', ''), ['ingresses', 'ingress'])
})

t.test('a bad rule stops the start: exit 2 with the key path', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-kinds-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'kinds:\n  widgets.example.com:\n    succeeded: "isReady(object)"\n')
  t.throws(() => loadConfig({ config: file }, {}), { code: 'KC_BAD_CONFIG', message: `kinds["widgets.example.com"].succeeded: unknown function 'isReady'` })
  writeFileSync(join(dir, 'empty.log'), '')
  const root = join(import.meta.dirname, '../../..')
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'replay', join(dir, 'empty.log'), '--config', file], { env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0', HOME: dir } })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const [code] = await once(child, 'close')
  t.equal(code, 2)
  t.equal(err.trim(), `kubechanges: KC_BAD_CONFIG: kinds["widgets.example.com"].succeeded: unknown function 'isReady'`)
})

t.test("the README's kinds: example is valid and does what it says", async t => {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8')
  const block = /```yaml\n(kinds:\n[\s\S]*?)```/.exec(readme)?.[1]
  t.ok(block, 'the README shows a kinds: block')
  const { kinds } = applyFile(structuredClone(DEFAULTS), parseYaml(block!))
  const rule = statusRuleFor('Widget', 'example.com', { kinds })
  t.equal(rule.timeoutSeconds, 300)
  const at = (phase: string, observedGeneration: number): any => ({ metadata: { generation: 2 }, status: { phase, observedGeneration } })
  t.same([at('Provisioning', 2), at('Ready', 1), at('Ready', 2), at('Error', 2)].map(object => rule.evaluate({ object, generation: 2 }).state), ['waiting', 'waiting', 'succeeded', 'failed'])
})
