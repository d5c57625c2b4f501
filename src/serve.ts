import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Config } from './config.js'
import { createApp } from './app.js'
import type { Io } from './cli.js'

// `kubechanges serve`: the app on the wall clock, with the watch when a
// cluster is reachable, and the embedded default (audit/admission-only, local
// SQLite, changes on stdout) when none is.

export function clusterCredentials (env: NodeJS.ProcessEnv): string | undefined {
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') return `KUBECONFIG=${env.KUBECONFIG}`
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) return 'in-cluster service account'
  const home = join(homedir(), '.kube', 'config')
  if (existsSync(home)) return home
  return undefined
}

export async function startServe (config: Config, io: Io): Promise<void> {
  const app = await createApp({ config, env: io.env, write: io.out })
  const creds = config.watch.enabled === false ? undefined : clusterCredentials(io.env)
  if (creds === undefined) {
    app.log.info(config.watch.enabled === false
      ? 'watch disabled by configuration: audit/admission-only mode'
      : 'no cluster found (no KUBECONFIG, no ~/.kube/config, not in a pod): running audit/admission-only')
  } else {
    const { startWatch } = await import('./sources/watch.js')
    await startWatch(app, creds)
  }
  const address = await app.listen()
  app.start()
  app.log.info({ address, store: config.store }, 'kubechanges listening')
  let closing = false
  const stop = (signal: string): void => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    // Well inside Kubernetes' default terminationGracePeriodSeconds (30 s):
    // whatever hangs, what was acknowledged is in the journal already.
    setTimeout(() => {
      app.log.error('shutdown took over 20 s: exiting; the next start replays the journal')
      process.exit(1)
    }, 20_000).unref()
    app.close().then(() => {
      app.log.info({ signal }, 'state written, store closed')
      process.exit(0)
    }, err => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}
