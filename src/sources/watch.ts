import type { App } from '../app.js'

// The Watch API source (issue: watch the cluster) plugs in here.
export async function startWatch (app: App, creds: string): Promise<void> {
  app.log.warn({ credentials: creds }, 'a cluster is configured but the watch source is not built yet: audit/admission-only')
}
