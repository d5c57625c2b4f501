// The e-mail sink alone, against a real SMTP server on loopback.

import t from 'tap'
import { errors } from '../../src/errors.js'
import { createEmailSink, scrubSecrets } from '../../src/notify/email.js'
import { jobChange, rolloutChange } from '../helpers/changes.js'
import { startSmtp } from '../helpers/smtp.js'

const PASS = 'p@ss:w0rd/S3cret'

t.test('one mail with subject, text, html, Message-ID and headers', async t => {
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const sink = createEmailSink({
    name: 'ops', url: smtp.url(), from: 'Kubechanges <kc@example.com>', to: ['ops@example.com', 'dev@example.com'],
    externalURL: 'https://kc.example.com'
  })
  t.teardown(() => sink.close())
  t.equal(sink.type, 'email')
  const c = rolloutChange({ id: 'abc-123' })
  await sink.deliver(c)
  t.equal(smtp.mails.length, 1)
  const m = smtp.mails[0]
  t.equal(m.parsed.subject, '[kubechanges] shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice')
  t.equal(m.parsed.messageId, '<kubechanges.abc-123@example.com>')
  t.same(m.envelope, { from: 'kc@example.com', to: ['ops@example.com', 'dev@example.com'] })
  t.match(m.parsed.text, c.summary)
  t.match(m.parsed.text, 'View this change: https://kc.example.com/changes/abc-123')
  t.match(m.parsed.html, '<a href="https://kc.example.com/changes/abc-123">')
  t.match(m.parsed.html, /<table/)
  t.equal(m.parsed.headers.get('x-kubechanges-change-id'), 'abc-123')
  t.equal(m.parsed.headers.get('auto-submitted'), 'auto-generated')
})

t.test('route recipients replace the sink\'s own', async t => {
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const sink = createEmailSink({ name: 'ops', host: '127.0.0.1', port: smtp.port, secure: false, from: 'kc@example.com', to: ['ops@example.com'] })
  t.teardown(() => sink.close())
  await sink.deliver(jobChange(), { to: ['oncall@example.com'] })
  t.same(smtp.mails[0].envelope.to, ['oncall@example.com'])
})

t.test('authenticated, pooled', async t => {
  const smtp = await startSmtp({ auth: { user: 'alice', pass: PASS } })
  t.teardown(() => smtp.close())
  const sink = createEmailSink({ name: 'ops', url: smtp.url({ user: 'alice', pass: PASS }), pool: true, from: 'kc@example.com', to: ['ops@example.com'] })
  t.teardown(() => sink.close())
  await Promise.all([sink.deliver(rolloutChange()), sink.deliver(jobChange()), sink.deliver(rolloutChange())])
  t.equal(smtp.mails.length, 3)
  t.equal(new Set(smtp.mails.map(m => m.parsed.messageId)).size, 3)
})

t.test('STARTTLS with requireTLS and a CA override', async t => {
  const smtp = await startSmtp({ starttls: true })
  t.teardown(() => smtp.close())
  const strict = createEmailSink({ name: 'strict', url: smtp.url(), requireTLS: true, from: 'kc@example.com', to: ['ops@example.com'] })
  t.teardown(() => strict.close())
  await t.rejects(strict.deliver(rolloutChange()), { code: errors.DELIVERY_FAILED.code }, 'self-signed certificate refused by default')
  const lax = createEmailSink({
    name: 'lax', url: smtp.url(), requireTLS: true, tls: { rejectUnauthorized: false }, from: 'kc@example.com', to: ['ops@example.com']
  })
  t.teardown(() => lax.close())
  await lax.deliver(rolloutChange())
  t.equal(smtp.mails.length, 1)
})

t.test('errors are DELIVERY_FAILED without credentials', async t => {
  const smtp = await startSmtp({ auth: { user: 'alice', pass: 'right' } })
  t.teardown(() => smtp.close())
  const wrong = createEmailSink({ name: 'ops', url: smtp.url({ user: 'alice', pass: PASS }), from: 'kc@example.com', to: ['ops@example.com'] })
  t.teardown(() => wrong.close())
  const err = await wrong.deliver(rolloutChange()).then(() => undefined, (e: unknown) => e) as Error & { code: string; cause?: unknown }
  t.equal(err.code, errors.DELIVERY_FAILED.code)
  t.match(err.message, /^email sink "ops": .*535/)
  t.notMatch(err.message, 'S3cret')
  t.notMatch(err.message, encodeURIComponent(PASS))
  t.equal(err.cause, undefined, 'the raw nodemailer error is not attached')
  t.equal(smtp.authFailures, 1)

  const auth = createEmailSink({ name: 'ops', host: '127.0.0.1', port: smtp.port, auth: { user: 'alice', pass: PASS }, from: 'kc@example.com', to: ['ops@example.com'] })
  t.teardown(() => auth.close())
  const err2 = await auth.deliver(rolloutChange()).then(() => undefined, (e: unknown) => e) as Error
  t.notMatch(err2.message, 'S3cret')

  // Nothing listens on a closed server's port.
  const gone = await startSmtp()
  await gone.close()
  const refused = createEmailSink({ name: 'ops', url: `smtp://alice:${encodeURIComponent(PASS)}@127.0.0.1:${gone.port}`, from: 'kc@example.com', to: ['ops@example.com'] })
  t.teardown(() => refused.close())
  const err3 = await refused.deliver(rolloutChange()).then(() => undefined, (e: unknown) => e) as Error & { code: string }
  t.equal(err3.code, errors.DELIVERY_FAILED.code)
  t.match(err3.message, /ECONNREFUSED/)
  t.notMatch(err3.message, 'S3cret')
})

t.test('scrubSecrets', async t => {
  t.equal(scrubSecrets('connect to smtp://bob:xyz@host failed', []), 'connect to smtp://***@host failed')
  t.equal(scrubSecrets('token hunter2 and aHVudGVyMg==', ['hunter2', 'aHVudGVyMg==']), 'token *** and ***')
})

t.test('config errors', async t => {
  t.throws(() => createEmailSink({ name: 'x', from: 'kc@example.com', to: ['a@example.com'] }), { code: errors.BAD_CONFIG.code })
})
