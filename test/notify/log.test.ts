import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { errors } from '../../src/errors.js'
import { createLogSink } from '../../src/notify/log.js'
import { rolloutChange } from '../helpers/changes.js'
import { createRig } from '../helpers/delivery.js'

t.test('one JSON line per change', async t => {
  const lines: string[] = []
  const sink = createLogSink({ name: 'log', write: l => { lines.push(l) } })
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
  const rig = createRig({ sinks: [createLogSink({ name: 'log', write: l => { lines.push(l) } })] })
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

t.test('to stdout, a change is delivered once it has left the process, not while a slow reader keeps it queued inside', async t => {
  const src = join(import.meta.dirname, '../../src/notify/log.ts')
  // 300 KB: more than a pipe holds, so most of the line waits inside the child until the parent reads.
  const script = `
    const { createLogSink } = await import(${JSON.stringify(src)})
    let delivered = false
    createLogSink({ name: 'log' }).deliver({ id: 'big', pad: 'y'.repeat(300000) }).then(() => { delivered = true; process.stderr.write('delivered\\n') })
    setTimeout(() => { process.stderr.write(delivered ? 'delivered before it left\\n' : 'waiting for the reader\\n') }, 300)
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  child.stdout.pause()
  const deadline = Date.now() + 30_000
  while (!err.includes('\n') && Date.now() < deadline) await new Promise(r => setTimeout(r, 50))
  t.equal(err.split('\n')[0], 'waiting for the reader')
  let bytes = 0
  child.stdout.on('data', (d: Buffer) => { bytes += d.length })
  child.stdout.resume()
  await once(child, 'close')
  t.equal(bytes, '{"id":"big","pad":""}\n'.length + 300000, 'the whole line arrived')
  t.match(err, /waiting for the reader\ndelivered\n/)
})
