import t from 'tap'
import { Cluster, USERS } from '../../helpers/cluster.js'
import { gadget, widget } from '../../helpers/custom-resources.js'
import { generic, statusRuleFor, type StatusResult } from '../../../src/detectors/status/index.js'
import { isTerminalReason } from '../../../src/detectors/status/generic.js'

// The generic rule in the spirit of kstatus (kubernetes-sigs/cli-utils
// pkg/kstatus/status/generic.go: Stalled=True → Failed, Reconciling=True →
// InProgress, observedGeneration ≠ generation → InProgress), with the
// pitfalls kstatus has guarded: a string observedGeneration, a Ready
// condition from before the change.

const judge = (objects: any[], generation: number, since?: string): StatusResult[] => objects.map(object => generic({ object, generation, ...(since !== undefined ? { since } : {}) }))

t.test('a CRD with standard conditions: create and a spec change close on Ready=True of their generation', async t => {
  const c = new Cluster()
  const create = widget(c, USERS.alice, 'shop', 'w1', 'small')
  t.equal(statusRuleFor('Widget', 'example.com', {}).name, 'generic')
  t.same(judge([create.created, ...create.statuses], 1), [
    { state: 'none', reason: 'NoStatus', message: 'the object reports no status to wait for' },
    { state: 'waiting', reason: 'Provisioning', message: 'provisioning a small widget' },
    { state: 'succeeded', reason: 'Provisioned', message: 'a small widget is serving' }
  ])
  const update = widget(c, USERS.alice, 'shop', 'w1', 'large')
  t.equal(update.updated.metadata.generation, 2)
  t.same(judge([update.updated, ...update.statuses], 2), [
    { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 2, observed 1' },
    { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 2, observed 1' },
    { state: 'succeeded', reason: 'Provisioned', message: 'a large widget is serving' }
  ])
  const stalled = widget(c, USERS.alice, 'shop', 'w1', 'huge', 'failed')
  t.same(judge(stalled.statuses.slice(-1), 3), [{ state: 'failed', reason: 'QuotaExceeded', message: 'no capacity for a huge widget' }])
})

t.test('a CRD without status: none, the caller closes applied', async t => {
  const c = new Cluster()
  const p = gadget(c, USERS.alice, 'shop', 'g1', 'red')
  t.same(judge([p.created], 1), [{ state: 'none', reason: 'NoStatus', message: 'the object reports no status to wait for' }])
  t.same(judge([gadget(c, USERS.alice, 'shop', 'g1', 'blue').updated], 2)[0]!.state, 'none')
  t.same(judge([{ metadata: { generation: 1 }, status: { phase: 'Running' } }], 1), [{ state: 'none', reason: 'NoStandardStatus', message: 'the status has no observedGeneration and no conditions' }], 'a status with none of the standard fields')
})

t.test('pitfalls', async t => {
  const ready = (extra: object = {}): any => ({ type: 'Ready', status: 'True', reason: 'Ok', message: 'ok', lastTransitionTime: '2026-11-20T10:00:00Z', ...extra })
  // A string observedGeneration is a generation, not a crash.
  t.same(judge([{ metadata: { generation: 4 }, status: { observedGeneration: '4', conditions: [ready()] } }], 4), [{ state: 'succeeded', reason: 'Ok', message: 'ok' }])
  t.same(judge([{ metadata: { generation: 4 }, status: { observedGeneration: '3', conditions: [ready()] } }], 4), [{ state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 4, observed 3' }])
  // The Ready condition's own generation wins over the top level.
  t.same(judge([{ metadata: { generation: 4 }, status: { observedGeneration: 4, conditions: [ready({ observedGeneration: 3 })] } }], 4), [{ state: 'waiting', reason: 'ReadyFromBeforeChange', message: 'the Ready condition does not show generation 4' }])
  t.same(judge([{ metadata: { generation: 4 }, status: { conditions: [ready({ observedGeneration: 4 })] } }], 4), [{ state: 'succeeded', reason: 'Ok', message: 'ok' }], 'only on the condition (metav1.Condition)')
  // No generation anywhere: a first generation is fine (nothing existed before it); a later one needs a transition after the change.
  const bare = { metadata: { generation: 2 }, status: { conditions: [ready()] } }
  t.same(judge([{ metadata: { generation: 1 }, status: { conditions: [ready()] } }], 1)[0]!.state, 'succeeded')
  t.same(judge([bare], 2), [{ state: 'waiting', reason: 'ReadyFromBeforeChange', message: 'the Ready condition does not show generation 2' }])
  t.same(judge([bare], 2, '2026-11-20T10:00:00.400Z')[0]!.state, 'succeeded', 'transition in the same second as the change')
  t.same(judge([bare], 2, '2026-11-20T10:00:01.000Z')[0]!.state, 'waiting', 'Ready=True since before the change')
  // kstatus: generation observed, no Ready condition → nothing more to wait for.
  t.same(judge([{ metadata: { generation: 2 }, status: { observedGeneration: 2 } }], 2), [{ state: 'succeeded', reason: 'GenerationObserved', message: 'observed generation 2' }])
  t.same(judge([{ metadata: { generation: 2 }, status: { conditions: [{ type: 'Available', status: 'True' }] } }], 2), [{ state: 'none', reason: 'NoReadyCondition', message: 'no Ready condition and no observedGeneration' }])
  // Failures: Stalled, a Failed condition, a terminal Ready=False reason; a transient one waits.
  t.same(judge([{ metadata: { generation: 1 }, status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'gave up' }] } }], 1), [{ state: 'failed', reason: 'BackoffLimitExceeded', message: 'gave up' }])
  t.same(judge([{ metadata: { generation: 1 }, status: { conditions: [{ type: 'Stalled', status: 'True' }] } }], 1), [{ state: 'failed', reason: 'Stalled' }])
  t.same(judge([{ metadata: { generation: 1 }, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'boom' }] } }], 1), [{ state: 'failed', reason: 'InstallFailed', message: 'boom' }])
  t.same(judge([{ metadata: { generation: 1 }, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'DependencyNotReady', message: 'waiting for x' }] } }], 1), [{ state: 'waiting', reason: 'DependencyNotReady', message: 'waiting for x' }])
  t.same(judge([{ metadata: { generation: 3 }, status: { observedGeneration: 3, conditions: [{ type: 'Stalled', status: 'True', observedGeneration: 2 }, ready()] } }], 3)[0]!.state, 'succeeded', 'a Stalled from an older generation is history')
  t.same([isTerminalReason('UpgradeFailed'), isTerminalReason('ArtifactFailed'), isTerminalReason('SomethingFailed'), isTerminalReason('Progressing'), isTerminalReason(undefined)], [true, false, true, false, false])
  // Garbage in never throws.
  for (const status of [null, 'x', 7, [], { conditions: 'x' }, { conditions: [null, 1, { type: 'Ready' }] }, { observedGeneration: {} }]) {
    t.doesNotThrow(() => generic({ object: { metadata: { generation: 1 }, status } }), JSON.stringify(status))
  }
  t.same(generic({ object: { status: { observedGeneration: 1 } } }), { state: 'succeeded', reason: 'GenerationObserved', message: 'observed generation 1' }, 'no generation given: the object\'s own (none: 0)')
})
