import t from 'tap'
import type { Test } from 'tap'
import YAML from 'yaml'
import { errors } from '../../src/errors.js'
import { createSinks, describeNotifyConfig, parseNotifyConfig } from '../../src/notify/config.js'

const PASS = 'hunter2-S3cret'

function badConfig (t: Test, raw: unknown, env: NodeJS.ProcessEnv, message: string | RegExp): void {
  t.throws(() => parseNotifyConfig(raw, env), { code: errors.BAD_CONFIG.code, message })
}

t.test('no config at all: one log sink, routed by default', async t => {
  const c = parseNotifyConfig(undefined, {})
  t.same(c.sinks, [{ name: 'log', type: 'log' }])
  t.same(c.defaultSinks, ['log'])
  t.same(c.routes, [])
  t.equal(c.origin, 'embedded-default')
  t.equal(c.delivery.maxAttempts, 16)
})

t.test('environment only: an e-mail sink named "email", routed by default', async t => {
  const c = parseNotifyConfig(undefined, {
    KUBECHANGES_SMTP_URL: `smtp://alice:${PASS}@mail.example.com:587`,
    KUBECHANGES_MAIL_FROM: 'Kubechanges <kc@example.com>',
    KUBECHANGES_MAIL_TO: 'ops@example.com, dev@example.com',
    KUBECHANGES_EXTERNAL_URL: 'https://kc.example.com/'
  })
  t.same(c.sinks, [{ name: 'email', type: 'email', url: `smtp://alice:${PASS}@mail.example.com:587`, from: 'Kubechanges <kc@example.com>', to: ['ops@example.com', 'dev@example.com'] }])
  t.same(c.defaultSinks, ['email'])
  t.equal(c.externalURL, 'https://kc.example.com')
  t.equal(c.origin, 'env')
  const d = describeNotifyConfig(c)
  t.match(d, 'email (email via smtp://mail.example.com:587 to 2 recipients)')
  t.notMatch(d, PASS)
  t.notMatch(d, 'alice')
})

t.test('environment completes a configured "email" sink; routes keep it as default', async t => {
  const c = parseNotifyConfig({
    sinks: [{ name: 'email', type: 'email', pool: true, requireTLS: true }, { name: 'chat', type: 'webhook', url: 'https://x.example.com/h' }],
    routes: [{ match: { type: ['rollout'] }, sinks: ['chat'] }]
  }, { KUBECHANGES_SMTP_URL: 'smtps://mail.example.com', KUBECHANGES_MAIL_FROM: 'kc@example.com', KUBECHANGES_MAIL_TO: 'ops@example.com' })
  const email = c.sinks[0]
  t.equal(email.type, 'email')
  t.match(email, { url: 'smtps://mail.example.com', from: 'kc@example.com', to: ['ops@example.com'], pool: true, requireTLS: true })
  t.same(c.defaultSinks, [], 'routes given and no defaultSinks: nothing by default')
})

t.test('a YAML config file', async t => {
  const doc = YAML.parse(`
notify:
  externalURL: https://kc.example.com
  sinks:
    - name: ops-mail
      type: email
      url: smtp://\${SMTP_USER}:\${SMTP_PASS}@mail.example.com:587
      from: kc@example.com
      to: [ops@example.com]
      pool: true
      tls: { rejectUnauthorized: true }
      socketTimeoutMs: 30000
    - name: chat
      type: webhook
      url: \${SLACK_URL}
      format: slack
      headers: { Authorization: "Bearer \${TOKEN}" }
      timeoutMs: 5000
  routes:
    - match: { namespace: ["shop-*"], type: [rollout, restart] }
      sinks: [ops-mail, chat]
    - match: { namespace: [kube-system] }
      sinks: [ops-mail]
      quietTypes: [scale]
      to: [platform@example.com]
  defaultSinks: [chat]
  delivery: { maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 60000 }
`)
  const c = parseNotifyConfig(doc.notify, { SMTP_USER: 'kc', SMTP_PASS: PASS, SLACK_URL: 'https://hooks.example.com/T/B/X', TOKEN: 'tok' })
  t.equal(c.sinks.length, 2)
  t.match(c.sinks[0], { url: `smtp://kc:${PASS}@mail.example.com:587`, pool: true, socketTimeoutMs: 30000, tls: { rejectUnauthorized: true } })
  t.match(c.sinks[1], { url: 'https://hooks.example.com/T/B/X', format: 'slack', headers: { Authorization: 'Bearer tok' }, timeoutMs: 5000 })
  t.same(c.routes[1], { match: { namespace: ['kube-system'] }, sinks: ['ops-mail'], to: ['platform@example.com'], quietTypes: ['scale'] })
  t.same(c.defaultSinks, ['chat'])
  t.match(c.delivery, { maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 60000, concurrency: 4 })
  const sinks = createSinks(c)
  t.same([...sinks.keys()], ['ops-mail', 'chat'])
  t.same([...sinks.values()].map(s => s.type), ['email', 'webhook'])
  await Promise.all([...sinks.values()].map(s => s.close()))
})

t.test('errors name the key path', async t => {
  const sinks = [{ name: 'ops', type: 'email', url: 'smtp://m.example.com', from: 'kc@example.com', to: ['a@example.com'] }]
  badConfig(t, { sinks, routes: [{ sinks: ['ops'] }, { sinks: ['ops', 'mail'] }] }, {}, 'notify.routes[1].sinks[1]: unknown sink "mail"')
  badConfig(t, { sinks, defaultSinks: ['nope'] }, {}, 'notify.defaultSinks[0]: unknown sink "nope"')
  badConfig(t, { sinks: [{ name: 'x', type: 'pager' }] }, {}, /^notify\.sinks\[0\]\.type: unknown sink type "pager"/)
  badConfig(t, { sinks: [{ name: 'x', type: 'email', url: 'smtp://m', from: 'kc@example.com', to: ['a@example.com'], pasword: 'x' }] }, {},
    /^notify\.sinks\[0\]\.pasword: unknown key/)
  badConfig(t, { sinks: [...sinks, { ...sinks[0] }] }, {}, 'notify.sinks[1].name: duplicate sink name "ops"')
  badConfig(t, { sinks: [{ name: 'x', type: 'email', url: 'smtp://m', from: 'kc@example.com' }] }, {}, /^notify\.sinks\[0\]\.to: is required/)
  badConfig(t, { sinks: [{ name: 'x', type: 'email', url: 'smtp://m', from: 'kc@example.com', to: ['not-an-address'] }] }, {},
    /^notify\.sinks\[0\]\.to\[0\]: "not-an-address" is not an e-mail address/)
  badConfig(t, { sinks: [{ name: 'x', type: 'webhook', url: 'https://h', format: 'xml' }] }, {}, /^notify\.sinks\[0\]\.format: unknown value "xml"/)
  badConfig(t, { sinks, routes: [{ match: { type: ['rolout'] }, sinks: ['ops'] }] }, {}, /^notify\.routes\[0\]\.match\.type\[0\]: unknown value "rolout"/)
  badConfig(t, { sinks, routes: [{ match: { namespaces: ['x'] }, sinks: ['ops'] }] }, {}, /^notify\.routes\[0\]\.match\.namespaces: unknown key/)
  badConfig(t, { sinks, routes: [{ sinks: [] }] }, {}, 'notify.routes[0].sinks: must not be empty')
  badConfig(t, { sinks: [{ name: 'l', type: 'log' }], routes: [{ sinks: ['l'], to: ['a@example.com'] }] }, {},
    /^notify\.routes\[0\]\.to: only e-mail sinks take recipients/)
  badConfig(t, { sinks, delivery: { maxAttempts: 0 } }, {}, /^notify\.delivery\.maxAttempts: must be between 1 and 1000/)
  badConfig(t, { sinks: 'ops' }, {}, 'notify.sinks: must be a list, got a string')
  badConfig(t, [], {}, 'notify: must be a map, got a list')
  badConfig(t, { sinks: [{ name: 'w', type: 'webhook', url: 'https://h', headers: { Authorization: '${NOPE}' } }] }, {},
    'notify.sinks[0].headers.Authorization: environment variable NOPE is not set')
})

t.test('environment errors name the variable', async t => {
  badConfig(t, undefined, { KUBECHANGES_MAIL_TO: 'a@example.com' }, /^env KUBECHANGES_SMTP_URL: is required when KUBECHANGES_MAIL_TO is set/)
  badConfig(t, undefined, { KUBECHANGES_SMTP_URL: 'smtp://m.example.com', KUBECHANGES_MAIL_TO: 'a@example.com' }, /^env KUBECHANGES_MAIL_FROM: is required/)
  badConfig(t, undefined, { KUBECHANGES_SMTP_URL: 'smtp://m.example.com', KUBECHANGES_MAIL_FROM: 'kc@example.com' }, /^env KUBECHANGES_MAIL_TO: is required/)
  badConfig(t, undefined, { KUBECHANGES_SMTP_URL: 'smtp://m.example.com', KUBECHANGES_MAIL_FROM: 'kc', KUBECHANGES_MAIL_TO: 'a@example.com' },
    /^env KUBECHANGES_MAIL_FROM: "kc" is not an e-mail address/)
  badConfig(t, { sinks: [{ name: 'email', type: 'log' }] }, { KUBECHANGES_SMTP_URL: 'smtp://m', KUBECHANGES_MAIL_FROM: 'a@b.c', KUBECHANGES_MAIL_TO: 'a@b.c' },
    /^env KUBECHANGES_SMTP_URL: a sink named "email" exists and is not an e-mail sink/)
})

t.test('credentials never appear in errors', async t => {
  const cases: Array<[unknown, NodeJS.ProcessEnv]> = [
    [undefined, { KUBECHANGES_SMTP_URL: `http://alice:${PASS}@mail.example.com`, KUBECHANGES_MAIL_FROM: 'a@b.c', KUBECHANGES_MAIL_TO: 'a@b.c' }],
    [undefined, { KUBECHANGES_SMTP_URL: `alice:${PASS}@mail example com`, KUBECHANGES_MAIL_FROM: 'a@b.c', KUBECHANGES_MAIL_TO: 'a@b.c' }],
    [{ sinks: [{ name: 'e', type: 'email', url: `imap://alice:${PASS}@mail.example.com`, from: 'a@b.c', to: ['a@b.c'] }] }, {}],
    [{ sinks: [{ name: 'e', type: 'email', url: 'smtp://alice:${P}@mail.example.com', from: 'a@b.c', to: ['a@b.c'], extra: 1 }] }, { P: PASS }],
    [{ sinks: [{ name: 'e', type: 'email', host: 'm', auth: { user: 'alice', pass: PASS, method: 'x' }, from: 'a@b.c', to: ['a@b.c'] }] }, {}],
    [{ sinks: [{ name: 'w', type: 'webhook', url: 'https://h', headers: { Authorization: `Bearer ${PASS}`, 'Bad Header': PASS } }] }, {}],
    [{ sinks: [{ name: 'w', type: 'webhook', url: 'https://h', headers: { Authorization: `Bearer ${PASS}\r\nX: y` } }] }, {}],
    [{ sinks: [{ name: 'w', type: 'webhook', url: `ftp://u:${PASS}@h` }] }, {}]
  ]
  for (const [raw, env] of cases) {
    let caught: unknown
    try { parseNotifyConfig(raw, env) } catch (err) { caught = err }
    t.ok(caught, 'rejected')
    const e = caught as Error & { code?: string }
    t.equal(e.code, errors.BAD_CONFIG.code)
    t.notMatch(e.message, PASS, e.message)
  }
})

t.test('teams, cloudevents and digests: parsed with defaults, errors name the key', async t => {
  const c = parseNotifyConfig({
    sinks: [
      { name: 'teams', type: 'teams', url: 'https://example.webhook.office.com/workflows/x', digest: { windowSeconds: 120, minChanges: 10 } },
      { name: 'events', type: 'cloudevents', url: 'http://broker-ingress.knative-eventing.svc/default/default' },
      { name: 'cd', type: 'cloudevents', url: 'http://cd.example.com/', mode: 'structured', format: 'cdevents' }
    ],
    routes: [{ match: { type: ['restart'] }, sinks: ['events'], digest: { windowSeconds: 30, minChanges: 3 } }]
  }, {})
  t.same(c.sinks, [
    { name: 'teams', url: 'https://example.webhook.office.com/workflows/x', type: 'teams', digest: { windowSeconds: 120, minChanges: 10 } },
    { name: 'events', url: 'http://broker-ingress.knative-eventing.svc/default/default', type: 'cloudevents', mode: 'binary', format: 'kubechanges' },
    { name: 'cd', url: 'http://cd.example.com/', type: 'cloudevents', mode: 'structured', format: 'cdevents' }
  ])
  t.equal(describeNotifyConfig(c), 'sinks: teams (teams to example.webhook.office.com, digest 10+ in 120s), events (cloudevents binary to broker-ingress.knative-eventing.svc), cd (cloudevents structured cdevents to cd.example.com); routes: 1; default: (none)')
  t.same([...createSinks(c).values()].map(s => s.type), ['teams', 'cloudevents', 'cloudevents'])
  badConfig(t, { sinks: [{ name: 'x', type: 'cloudevents', url: 'http://x/', mode: 'batch' }] }, {}, 'notify.sinks[0].mode: unknown value "batch" (allowed: binary, structured)')
  badConfig(t, { sinks: [{ name: 'x', type: 'teams', url: 'ftp://x/' }] }, {}, 'notify.sinks[0].url: scheme must be http: or https:')
  badConfig(t, { sinks: [{ name: 'x', type: 'log', digest: { windowSeconds: 60 } }] }, {}, 'notify.sinks[0].digest.minChanges: is required')
  badConfig(t, { sinks: [{ name: 'x', type: 'log', digest: { windowSeconds: 60, minChanges: 1 } }] }, {}, 'notify.sinks[0].digest.minChanges: must be between 2 and 100000')
  badConfig(t, { sinks: [{ name: 'x', type: 'log' }], routes: [{ sinks: ['x'], digest: { window: 5 } }] }, {}, /^notify\.routes\[0\]\.digest\.window: unknown key/)
  badConfig(t, { sinks: [{ name: 'x', type: 'pager' }] }, {}, 'notify.sinks[0].type: unknown sink type "pager" (allowed: email, webhook, teams, cloudevents, log)')
})
