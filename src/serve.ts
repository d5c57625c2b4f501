import type { Config } from './config.js'
import { createApp } from './app.js'
import type { Io } from './cli.js'
import { loadKubeConfig } from './sources/watch/kubeconfig.js'

// `kubechanges serve`: the app on the wall clock, with the watch when a
// cluster is reachable, and the embedded default (audit/admission-only, local
// SQLite, changes on stdout) when none is.

export async function startServe (config: Config, io: Io): Promise<void> {
  // Set below: a failed commit ends the process (exit 1) so that the restart reloads the state from disk.
  let stopFor: ((why: string, code: number) => void) | undefined
  const app = await createApp({ config, env: io.env, write: io.out, onStoreFailure: () => { setImmediate(() => stopFor?.('store failure', 1)) } })
  // A kubeconfig that cannot be used is one line and audit-only mode: the
  // audit webhook must keep working whatever the watch's credentials are.
  const creds = config.watch.enabled === false ? undefined : loadKubeConfig(io.env, io.env.HOME)
  if (creds === undefined) {
    app.log.info('watch disabled by configuration: audit/admission-only mode')
  } else if (creds.kind === 'none') {
    app.log.info(creds.message)
  } else if (creds.kind === 'unusable') {
    app.log.error(creds.message)
  } else {
    const { startWatch } = await import('./sources/watch.js')
    await startWatch(app, creds.kc, creds.source)
  }
  const address = await app.listen()
  app.start()
  app.log.info({ address, store: config.store }, 'kubechanges listening')
  let closing = false
  const stop = (signal: string, exitCode = 0): void => {
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
      app.log.info({ signal }, exitCode === 0 ? 'state written, store closed' : 'store closed; the next start continues from what is on disk')
      process.exit(exitCode)
    }, err => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  stopFor = stop
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}
