import t from 'tap'
import { errors } from '../../src/errors.js'
import { createLogSink } from '../../src/notify/log.js'
import { rolloutChange } from '../helpers/changes.js'
import { createRig } from '../helpers/delivery.js'

t.test('one JSON line per change', async t => {
  const lines: string[] = []
  const sink = createLogSink({ name: 'log', write: l => lines.push(l) })
  t.equal(sink.type, 'log')
  const c = rolloutChange()
  await sink.deliver(c)
  t.equal(lines.length, 1)
  t.notMatch(lines[0], /\n/)
  t.same(JSON.parse(lines[0]), c)
  await sink.close()
})

t.test('the embedded default prints each change once', async t => {
  const lines: string[] = []
  const rig = createRig({ sinks: [createLogSink({ name: 'log', write: l => lines.push(l) })] })
  t.teardown(() => rig.close())
  t.same(rig.config.defaultSinks, ['log'])
  const c = rolloutChange()
  rig.dispatcher.enqueue(c)
  rig.dispatcher.enqueue(c)
  await rig.dispatcher.drain()
  await rig.dispatcher.drain()
  t.equal(lines.length, 1)
})

t.test('a failing writer is DELIVERY_FAILED', async t => {
  const sink = createLogSink({ name: 'log', write: () => { throw new Error('EPIPE') } })
  await t.rejects(sink.deliver(rolloutChange()), { code: errors.DELIVERY_FAILED.code, message: 'log sink "log": EPIPE' })
})
