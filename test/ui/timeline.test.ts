import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import { Cluster, USERS, R, CONTROLLERS } from '../helpers/cluster.js'
import { postAsApiserver } from '../helpers/stream-world.js'
import { makeChange } from '../helpers/changes.js'

// The timeline page in Debian's chromium (no browser download): rows from a
// simulated day, new ones arriving live as audit batches are posted, a
// filter reflected in the URL, the detail view with its timeline picture,
// the token prompt. Screenshots go to .tap/ui/ (and, with
// KUBECHANGES_SCREENSHOT=docs, to docs/timeline.png for the README).

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join('.tap', 'ui')

async function listening (opts: Parameters<typeof testApp>[0], c: Cluster): Promise<{ a: TestApp, base: string, flush: () => Promise<void> }> {
  const a = await testApp({ ...opts, start: c.t })
  const base = await a.app.server.listen({ host: '127.0.0.1', port: 0 })
  const flush = async (): Promise<void> => {
    const status = await postAsApiserver(a, eventList(c.take()))
    if (status !== 200) throw new Error(`POST /audit: ${status}`)
    c.advance(10_000)
    a.clock.now = c.t
    await a.advance(0)
  }
  return { a, base, flush }
}

/** The morning: a shop, its config, a failed rollout of the API. */
function morning (c: Cluster): void {
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'registry.example.com/shop/web:1.4', 4))
  c.runDeploymentController('shop', 'web', { service: 'web', stepMs: 4000 })
  c.advance(3_600_000)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { LOG_LEVEL: 'info', FEATURE_X: 'off' } })
  c.advance(600_000)
  c.patch(USERS.bob, R.configmaps, 'shop', 'web-config', { data: { FEATURE_X: 'on' } }, o => { o.data.FEATURE_X = 'on' })
  c.advance(60_000)
  c.create(USERS.ci, R.deployments, c.deploymentObject('payments', 'api', 'registry.example.com/payments/api:2.0', 3))
  c.runDeploymentController('payments', 'api', { stepMs: 3000 })
  c.advance(600_000)
  c.setImage(USERS.ci, 'payments', 'api', 'registry.example.com/payments/api:2.1')
  c.runDeploymentController('payments', 'api', { stall: true })
  c.advance(600_000)
  c.failDeployment('payments', 'api')
}

/** The afternoon, posted while the page is open: a rollout and a scale of web. */
function rollout (c: Cluster): void {
  c.advance(1_800_000)
  c.setImage(USERS.alice, 'shop', 'web', 'registry.example.com/shop/web:1.5')
  c.runDeploymentController('shop', 'web', { service: 'web', stepMs: 5000 })
}
function scale (c: Cluster): void {
  c.advance(1_200_000)
  c.scale(CONTROLLERS.hpa, 'shop', 'web', 6)
  c.runScale('shop', 'web', { service: 'web' })
}

const rowIds = async (page: Page): Promise<string[]> => await page.$$eval('#changes [data-change-id]', els => els.map(e => e.getAttribute('data-change-id') ?? ''))

let browser: Browser
t.before(async () => { browser = await chromium.launch({ executablePath: CHROMIUM, headless: true }) })
t.teardown(async () => { await browser?.close() })
mkdirSync(ARTIFACTS, { recursive: true })

t.test('rows, live rows, a filter in the URL, the detail view', async t => {
  const c = new Cluster('2026-11-20T09:00:00Z')
  const { a, base, flush } = await listening({}, c)
  t.teardown(a.close)
  morning(c)
  await flush()
  const context = await browser.newContext({ timezoneId: 'UTC', locale: 'en-GB', viewport: { width: 1280, height: 860 } })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', e => problems.push(e.message))
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()) })

  await page.goto(`${base}/`)
  await page.waitForSelector('#live.up')
  const stored = (): string[] => a.stored().reverse().map(x => x.id)
  t.same(await rowIds(page), stored(), 'newest first, one row per change')
  const failed = a.stored().find(x => x.outcome === 'failed')!
  t.match(await page.textContent(`[data-change-id="${failed.id}"]`), /failed.*Deployment payments\/api.*system:serviceaccount:ci:deployer/s)
  t.equal(await page.$eval(`[data-change-id="${failed.id}"]`, e => e.classList.contains('outcome-failed')), true, 'failed ones stand out')

  // Live: the afternoon's rollout and scale appear without a reload.
  rollout(c)
  await flush()
  const rolled = a.stored().at(-1)!
  t.equal(rolled.type, 'rollout')
  await page.waitForSelector(`[data-change-id="${rolled.id}"].new`)
  scale(c)
  await flush()
  const scaled = a.stored().at(-1)!
  await page.waitForSelector(`[data-change-id="${scaled.id}"]`)
  t.same(await rowIds(page), stored(), 'live rows in place, nothing twice')
  t.same(problems, [])
  t.equal(await page.isHidden('#cluster-filter'), true, 'no cluster filter while no change names a cluster')

  // The detail of the rollout: images, replicas, endpoints, timeline, deliveries.
  await page.click(`[data-change-id="${rolled.id}"]`)
  await page.waitForSelector('#detail[open] .timeline')
  t.equal(await page.textContent('#detail-title'), rolled.summary)
  const detail = await page.textContent('#detail-body') ?? ''
  t.match(detail, /registry\.example\.com\/shop\/web:1\.4\s*registry\.example\.com\/shop\/web:1\.5/)
  t.match(detail, /desired 4 · updated 4 · ready 4 · available 4/)
  t.match(detail, /Endpoints\s*shop\/web \+10\.1\.2\.\d+/)
  t.match(detail, /Delivery\s*sinkstateattemptsdetail\s*logdelivered1at 2026-11-20T/)
  const full = await (await fetch(`${base}/changes/${rolled.id}`)).json()
  t.equal(await page.$$eval('#detail .timeline circle', els => els.length), full.timeline.length, 'a dot per folded observation')
  t.ok(new URL(page.url()).searchParams.get('change') === rolled.id, 'the open change is in the URL')
  await page.screenshot({ path: join(ARTIFACTS, 'detail.png') })
  if (process.env.KUBECHANGES_SCREENSHOT === 'docs') await page.screenshot({ path: join('docs', 'timeline-detail.png') })
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => !(document.getElementById('detail') as HTMLDialogElement).open)
  t.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-change-id')), rolled.id, 'focus back on the row')

  // Keyboard: Tab to a row, Enter opens it.
  await page.focus(`[data-change-id="${failed.id}"]`)
  await page.keyboard.press('Enter')
  await page.waitForSelector('#detail[open]')
  t.match(await page.textContent('#detail-body'), /ProgressDeadlineExceeded/)
  await page.click('#detail-close')
  await page.evaluate(() => { (document.activeElement as HTMLElement | null)?.blur() })

  await page.screenshot({ path: join(ARTIFACTS, 'timeline.png'), fullPage: true })
  if (process.env.KUBECHANGES_SCREENSHOT === 'docs') await page.screenshot({ path: join('docs', 'timeline.png') })

  // A filter narrows the rows and lands in the URL; the URL restores it.
  await page.selectOption('select[name=type]', 'rollout')
  await page.waitForFunction(() => [...document.querySelectorAll('#changes [data-change-id]')].length > 0 && new URL(location.href).searchParams.get('type') === 'rollout')
  await page.waitForSelector('#changes [data-change-id]')
  const rollouts = a.stored().filter(x => x.type === 'rollout').reverse().map(x => x.id)
  await page.waitForFunction(n => document.querySelectorAll('#changes [data-change-id]').length === n, rollouts.length)
  t.same(await rowIds(page), rollouts)
  await page.fill('input[name=namespace]', 'payments')
  await page.press('input[name=namespace]', 'Enter')
  await page.waitForFunction(() => new URL(location.href).searchParams.get('namespace') === 'payments')
  const shared = page.url()
  t.match(shared, /\?namespace=payments&type=rollout$/)
  const other = await context.newPage()
  await other.goto(shared)
  await other.waitForSelector('#live.up')
  await other.waitForSelector('#changes [data-change-id]')
  t.same(await rowIds(other), a.stored().filter(x => x.type === 'rollout' && x.object.namespace === 'payments').reverse().map(x => x.id))
  t.equal(await other.inputValue('input[name=namespace]'), 'payments')
  t.equal(await other.inputValue('select[name=type]'), 'rollout')

  // Readable on a phone: no sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 })
  await page.click('button[type=reset]')
  await page.waitForFunction(n => document.querySelectorAll('#changes [data-change-id]').length === n, stored().length)
  t.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'fits a 390 px screen')
  await page.screenshot({ path: join(ARTIFACTS, 'phone.png') })
  t.same(problems, [])
})

t.test('with a token configured the page asks for it and shows nothing without it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-ui-token-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'token'), 's3cret-token\n')
  const c = new Cluster('2026-11-20T09:00:00Z')
  const { a, base, flush } = await listening({ config: { apiTokenFile: join(dir, 'token') } }, c)
  t.teardown(a.close)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { A: '1' } })
  await flush()
  const context = await browser.newContext({ timezoneId: 'UTC', locale: 'en-GB' })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  await page.goto(`${base}/`)
  await page.waitForSelector('#token-form:not([hidden])')
  t.equal(await page.getAttribute('#token', 'type'), 'password')
  t.equal(await page.textContent('label[for=token]'), 'API token')
  t.equal(await page.isHidden('#main'), true)
  t.equal(await page.$$eval('[data-change-id]', els => els.length), 0, 'nothing shown without the token')
  await page.screenshot({ path: join(ARTIFACTS, 'token.png') })

  await page.fill('#token', 'wrong')
  await page.press('#token', 'Enter')
  await page.waitForSelector('#token-error:text("That token was not accepted.")')
  await page.fill('#token', 's3cret-token')
  await page.click('#token-form button[type=submit]')
  await page.waitForSelector('#live.up')
  await page.waitForSelector(`[data-change-id="${a.stored()[0]!.id}"]`)
  // Live with the token too.
  c.create(USERS.bob, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db-config', namespace: 'shop' }, data: { B: '1' } })
  await flush()
  await page.waitForSelector(`[data-change-id="${a.stored().at(-1)!.id}"]`)
  t.equal(await page.isHidden('#token-form'), true)
})

t.test('the cluster filter shows once changes name a cluster', async t => {
  const c = new Cluster('2026-11-20T09:00:00Z')
  const { a, base } = await listening({}, c)
  t.teardown(a.close)
  const change = { ...makeChange({ endedAt: '2026-11-20T09:00:00.000Z' }), cluster: 'prod-eu' }
  a.app.store.record(change, a.clock.now)
  const context = await browser.newContext({ timezoneId: 'UTC', locale: 'en-GB' })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  await page.goto(`${base}/`)
  await page.waitForSelector(`[data-change-id="${change.id}"]`)
  t.equal(await page.isVisible('#cluster-filter'), true)
  t.match(await page.textContent(`[data-change-id="${change.id}"] .object`), /@prod-eu/)
  t.equal(await page.$eval('#dl-cluster option', o => (o as HTMLOptionElement).value), 'prod-eu')
})
