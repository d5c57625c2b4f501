import t from 'tap'
import { parseNotifyConfig } from '../../src/notify/config.js'
import { globMatch, globsMatch, routeChange } from '../../src/notify/routes.js'
import { endpointsChange, makeChange, rolloutChange, scaleChange } from '../helpers/changes.js'

const cfg = parseNotifyConfig({
  sinks: [
    { name: 'ops', type: 'email', url: 'smtp://mail.example.com', from: 'kc@example.com', to: ['ops@example.com'] },
    { name: 'chat', type: 'webhook', url: 'https://chat.example.com/hook', format: 'slack' },
    { name: 'audit-log', type: 'log' }
  ],
  routes: [
    { match: { namespace: ['shop-*', 'shop'], type: ['rollout', 'restart'] }, sinks: ['chat', 'ops'] },
    { match: { namespace: ['kube-system'] }, sinks: ['ops'], quietTypes: ['scale'] },
    { match: { outcome: ['failed'] }, sinks: ['ops'], to: ['oncall@example.com'] },
    { match: { actor: ['system:serviceaccount:*'], kind: ['deployment'] }, sinks: ['audit-log'] },
    { match: { namespace: ['!prod-*'], name: ['canary-?'] }, sinks: ['chat'] }
  ],
  defaultSinks: ['audit-log']
}, {})

t.test('globs', async t => {
  t.ok(globMatch('shop-*', 'shop-eu'))
  t.ok(globMatch('shop-*', 'shop-'))
  t.notOk(globMatch('shop-*', 'shop'))
  t.ok(globMatch('*', ''))
  t.ok(globMatch('a?c', 'abc'))
  t.notOk(globMatch('a.c', 'abc'), 'dots are literal')
  t.ok(globMatch('system:serviceaccount:kube-system:*', 'system:serviceaccount:kube-system:hpa'))
  t.ok(globsMatch(['!kube-*'], 'shop'))
  t.notOk(globsMatch(['!kube-*'], 'kube-system'))
  t.notOk(globsMatch(['*', '!kube-*'], 'kube-public'))
})

t.test('all criteria must match; several routes contribute; sinks deduplicated', async t => {
  t.same(routeChange(rolloutChange({ object: { namespace: 'shop-eu' } }), cfg), [{ sink: 'chat' }, { sink: 'ops' }])
  t.same(routeChange(scaleChange({ object: { namespace: 'shop-eu' } }), cfg), [{ sink: 'audit-log' }], 'type not matched: default')
  // A failed rollout in shop: route 1 (ops, own recipients) and route 3 (ops, oncall) → one ops target with both.
  t.same(routeChange(rolloutChange({ outcome: 'failed' }), cfg), [
    { sink: 'chat' },
    { sink: 'ops', to: ['ops@example.com', 'oncall@example.com'] }
  ])
  t.same(routeChange(makeChange({ outcome: 'failed', object: { namespace: 'other' } }), cfg), [{ sink: 'ops', to: ['oncall@example.com'] }],
    'route recipients alone when only that route sends to the sink')
})

t.test('kind is case-insensitive; actor globs; a change without actor', async t => {
  const sa = makeChange({ object: { namespace: 'other' }, actor: { username: 'system:serviceaccount:ci:deployer', groups: [] } })
  t.same(routeChange(sa, cfg), [{ sink: 'audit-log' }])
  const noActor = endpointsChange({ object: { namespace: 'other', kind: 'Deployment' } })
  t.same(routeChange(noActor, cfg), [{ sink: 'audit-log' }], 'unmatched: default route')
})

t.test('exclusions', async t => {
  t.same(routeChange(makeChange({ object: { namespace: 'dev', name: 'canary-1' } }), cfg), [{ sink: 'chat' }])
  t.same(routeChange(makeChange({ object: { namespace: 'prod-eu', name: 'canary-1' } }), cfg), [{ sink: 'audit-log' }])
})

t.test('quietTypes suppress, and the change does not fall to the default route', async t => {
  t.same(routeChange(scaleChange({ object: { namespace: 'kube-system' } }), cfg), [])
  t.same(routeChange(rolloutChange({ object: { namespace: 'kube-system' } }), cfg), [{ sink: 'ops' }])
})

t.test('default route', async t => {
  const plain = parseNotifyConfig(undefined, {})
  t.same(routeChange(makeChange(), plain), [{ sink: 'log' }])
  const none = parseNotifyConfig({ sinks: [{ name: 'l', type: 'log' }], routes: [{ match: { namespace: ['x'] }, sinks: ['l'] }] }, {})
  t.same(routeChange(makeChange(), none), [], 'routes given, no defaultSinks: unmatched changes go nowhere')
})

t.test('digests: the first matching route with one wins over the sink\'s own', async t => {
  const c = parseNotifyConfig({
    sinks: [
      { name: 'mail', type: 'email', url: 'smtp://mail.example.com', from: 'kc@example.com', to: ['ops@example.com'], digest: { windowSeconds: 60, minChanges: 5 } },
      { name: 'log', type: 'log' }
    ],
    routes: [
      { match: { type: ['restart'] }, sinks: ['mail', 'log'], digest: { windowSeconds: 300, minChanges: 20 } },
      { match: {}, sinks: ['mail'] }
    ]
  }, {})
  t.same(routeChange(rolloutChange({ type: 'restart' }), c), [
    { sink: 'mail', digest: { windowSeconds: 300, minChanges: 20 } },
    { sink: 'log', digest: { windowSeconds: 300, minChanges: 20 } }
  ])
  t.same(routeChange(scaleChange(), c), [{ sink: 'mail', digest: { windowSeconds: 60, minChanges: 5 } }])
})
