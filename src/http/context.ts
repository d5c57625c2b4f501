import type { Config } from '../config.js'
import type { PipelineMetrics } from '../metrics.js'
import type { Pipeline } from '../pipeline.js'
import type { ChangeStore } from '../store/changes.js'
import type { Outbox } from '../store/outbox.js'
import type { Change } from '../model.js'
import type { StreamOptions } from './routes/stream.js'

/** What the routes need from the app; the app builds it once. */
export interface AppContext {
  config: Config
  pipeline: Pipeline
  store: ChangeStore
  outbox: Outbox
  metrics: PipelineMetrics
  /** The pipeline's clock: wall time in serve, injected in tests. */
  now: () => number
  /** Run f in one store transaction (changes closed during a batch are written together). */
  inTransaction: <T>(f: () => T) => T
  readiness: () => { ready: boolean, reasons: string[], warnings?: string[] }
  /** Set once a store commit failed: memory is then ahead of disk, and only a restart (reading the disk) is right again. */
  storeFailed?: () => Error | undefined
  /** True once shutdown began: /readyz answers 503 so the Service stops routing here. */
  closing?: () => boolean
  apiToken?: () => string | undefined
  /** Required as a bearer token on /audit when set. */
  auditToken?: () => string | undefined
  /** Listeners told of each change once it is closed and recorded (not again on a re-record). */
  recorded?: Set<(change: Change) => void>
  stream?: StreamOptions
}
