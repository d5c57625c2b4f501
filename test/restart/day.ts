import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, CONTROLLERS, R, USERS, type AuditEvent } from '../helpers/cluster.js'
import { testApp, eventList, type TestApp } from '../helpers/app.js'
import type { Change } from '../../src/model.js'

// A realistic day of a small cluster, as the batches kube-apiserver's audit
// webhook would send it: each batch is what the cluster wrote since the last
// one, sent a second after its last event. Rollouts, a Job and a failing
// rollout span several batches, so a cut between batches falls inside
// changes still in progress; a delete lands in the last quiet period.

export interface Batch { sendAt: number, events: AuditEvent[] }

export interface Day { batches: Batch[], start: number, end: number, cluster: Cluster }

const job = (name: string): any => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'batch' }, spec: { backoffLimit: 2, template: { spec: { containers: [{ name: 'r', image: 'report:1' }], restartPolicy: 'Never' } } } })

/** `start`: ISO time of the first event. `chunk`: at most this many events per batch. */
export function buildDay (start = '2026-11-20T10:00:00Z', chunk = 25): Day {
  const c = new Cluster(start)
  const t0 = c.t
  const batches: Batch[] = []
  const send = (): void => {
    const events = c.take()
    for (let i = 0; i < events.length; i += chunk) {
      const part = events.slice(i, i + chunk)
      const last = Date.parse(part[part.length - 1]!.stageTimestamp)
      batches.push({ sendAt: last + 1000, events: part })
    }
    c.advance(1000)
  }
  // 1. A Service and its Deployment (create + endpoints folded in).
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 2))
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.noise()
  send()
  // 2. Configuration: a ConfigMap and a Secret.
  c.advance(60_000)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop' }, data: { mode: 'a' } })
  c.create(USERS.ci, R.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'shop' }, data: { token: 'aHVudGVyMg==' } })
  send()
  // 3. A Job starts (it ends in step 6).
  c.advance(60_000)
  c.create(USERS.ci, R.jobs, job('nightly'))
  const jobStart = new Date(c.t).toISOString()
  c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly', o => { o.status = { startTime: jobStart, active: 1 } }, { sub: 'status' })
  send()
  // 4. A rollout of web, over several batches.
  c.advance(60_000)
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
  c.runDeploymentController('shop', 'web', { service: 'web' })
  send()
  // 5. A second Deployment that will fail to roll out.
  c.advance(60_000)
  c.create(USERS.bob, R.deployments, c.deploymentObject('shop', 'api', 'api:2', 2))
  c.runDeploymentController('shop', 'api')
  send()
  c.advance(60_000)
  c.setImage(USERS.bob, 'shop', 'api', 'api:3-broken')
  c.runDeploymentController('shop', 'api', { stall: true })
  send()
  // 6. The Job ends; the ConfigMap is edited.
  c.advance(60_000)
  const jobEnd = new Date(c.t).toISOString()
  c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly', o => {
    o.status = { startTime: jobStart, completionTime: jobEnd, succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: jobEnd }] }
  }, { sub: 'status' })
  c.patch(USERS.alice, R.configmaps, 'shop', 'app', { data: { mode: 'b' } }, o => { o.data.mode = 'b' })
  send()
  // 7. api's rollout fails (ProgressDeadlineExceeded); web is scaled.
  c.advance(60_000)
  c.failDeployment('shop', 'api')
  c.scale(USERS.bob, 'shop', 'web', 3)
  c.runScale('shop', 'web', { service: 'web' })
  send()
  // 8. A restart of web.
  c.advance(60_000)
  c.restart(USERS.alice, 'shop', 'web')
  c.runDeploymentController('shop', 'web', { service: 'web' })
  send()
  // 9. Last quiet period: the ConfigMap and the Secret are deleted.
  c.advance(60_000)
  c.delete(USERS.bob, R.configmaps, 'shop', 'app')
  c.delete(USERS.bob, R.secrets, 'shop', 'creds')
  send()
  return { batches, start: t0, end: c.t + 120_000, cluster: c }
}

/** disk-full: before the batch after `after` (phase quiet), the store refuses the commit; the app refuses input until it is restarted. */
export type Mode = 'crash' | 'stop' | 'crash-resend' | 'disk-full'
export interface Cut { after: number, phase: 'posted' | 'quiet', mode: Mode }

export interface Run { stored: Change[], delivered: Change[] }

/**
 * The day through the real app on an injected clock, ticking once a second as
 * serve does; with a cut, the app is crashed (its store connection closed,
 * nothing unwritten survives) or stopped (close()) there and a new app opens
 * the same file.
 */
export async function runDay (day: Day, cut?: Cut): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-restart-'))
  try {
    let a: TestApp = await testApp({ dir, start: day.start })
    const delivered: Change[] = []
    const tickTo = async (to: number): Promise<void> => {
      // serve's clock wakes at least once a second
      while (a.clock.now + 1000 <= to) await a.advance(1000)
      if (a.clock.now < to) await a.advance(to - a.clock.now)
    }
    const restart = async (mode: Mode): Promise<void> => {
      delivered.push(...a.printed)
      if (mode === 'stop') await a.app.close()
      else a.app.store.close()
      a = await testApp({ dir, start: a.clock.now })
    }
    for (let i = 0; i < day.batches.length; i++) {
      const b = day.batches[i]!
      await tickTo(b.sendAt)
      if (cut?.after === i - 1 && cut.phase === 'quiet' && cut.mode === 'disk-full') {
        // SQLite refuses the next write on this connection only (a restart is a new connection: room again).
        a.app.store.db.exec("CREATE TEMP TRIGGER disk_full BEFORE INSERT ON state_journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        const refused = await a.post(eventList(b.events))
        const health = await a.app.server.inject({ url: '/healthz' })
        const again = await a.post(eventList(b.events))
        if (refused.statusCode !== 503 || refused.json.code !== 'KC_STORE_FAILED' || health.statusCode !== 503 || again.json.code !== 'KC_STORE_FAILED') {
          throw new Error(`batch ${i} on a full disk: ${refused.statusCode} ${JSON.stringify(refused.json)}, /healthz ${health.statusCode}, then ${again.statusCode}`)
        }
        // What serve does then: close (no snapshot from memory) and exit 1; the pod restarts.
        await restart('stop')
      } else if (cut?.after === i - 1 && cut.phase === 'quiet') await restart(cut.mode)
      // Under overload the server answers 503 and the apiserver sends the batch again, as here.
      let res = await a.post(eventList(b.events))
      for (let n = 0; n < 50 && (res.statusCode === 503 || res.statusCode === 429); n++) {
        await new Promise(resolve => setTimeout(resolve, 100))
        res = await a.post(eventList(b.events))
      }
      if (res.statusCode !== 200) throw new Error(`batch ${i}: ${res.statusCode}`)
      await a.advance(0)
      if (cut?.after === i && cut.phase === 'posted') {
        await restart(cut.mode)
        // The 200 was sent but never reached the apiserver: it sends the batch again.
        if (cut.mode === 'crash-resend') await a.post(eventList(b.events))
      }
    }
    await tickTo(day.end)
    delivered.push(...a.printed)
    const stored = a.stored()
    await a.app.close()
    return { stored, delivered }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

