// A delivery rig for tests: SQLite outbox (a file, so a "restart" can reopen
// it), a dispatcher with an injected clock and random, a prom-client registry
// and a pino logger whose lines are kept.

import Database from 'better-sqlite3'
import { migrate } from '../../src/store/schema.js'
import pino from 'pino'
import { Registry } from 'prom-client'
import { createDispatcher } from '../../src/notify/dispatcher.js'
import type { BackoffOptions, Dispatcher } from '../../src/notify/dispatcher.js'
import { createSinks, parseNotifyConfig } from '../../src/notify/config.js'
import type { NotifyConfig } from '../../src/notify/config.js'
import type { Sink } from '../../src/notify/sink.js'
import { Outbox } from '../../src/store/outbox.js'

export interface Rig {
  db: Database.Database
  outbox: Outbox
  dispatcher: Dispatcher
  config: NotifyConfig
  sinks: Map<string, Sink>
  clock: { now: number }
  registry: Registry
  logs: string[]
  /** Stops the dispatcher, closes the sinks and the database. */
  close (): Promise<void>
}

export interface RigOptions {
  /** SQLite file; ':memory:' by default. */
  file?: string
  /** The `notify` section; with `env`, as parseNotifyConfig takes them. */
  notify?: unknown
  env?: NodeJS.ProcessEnv
  /** Sinks instead of the ones the config makes. */
  sinks?: Sink[]
  backoff?: Partial<BackoffOptions>
  random?: () => number
  concurrency?: number
  pollMs?: number
  startAt?: number
}

export function createRig (opts: RigOptions): Rig {
  const db = new Database(opts.file ?? ':memory:')
  db.pragma('journal_mode = WAL')
  // As the app does: the store's schema migrations run before the outbox opens.
  migrate(db)
  const outbox = new Outbox(db)
  const config = parseNotifyConfig(opts.notify, opts.env ?? {})
  const sinks = opts.sinks ? new Map(opts.sinks.map(s => [s.name, s] as const)) : createSinks(config)
  const clock = { now: opts.startAt ?? 1_700_000_000_000 }
  const registry = new Registry()
  const logs: string[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => { logs.push(line) } })
  const dispatcher = createDispatcher({
    outbox,
    sinks,
    config,
    log,
    metrics: { registry },
    now: () => clock.now,
    random: opts.random ?? (() => 0.5),
    backoff: opts.backoff,
    concurrency: opts.concurrency,
    pollMs: opts.pollMs
  })
  let closed = false
  return {
    db,
    outbox,
    dispatcher,
    config,
    sinks,
    clock,
    registry,
    logs,
    async close () {
      if (closed) return
      closed = true
      await dispatcher.close()
      db.close()
    }
  }
}

/** The env that makes the "email" sink point at a test server. */
export function smtpEnv (url: string, to = 'ops@example.com'): NodeJS.ProcessEnv {
  return { KUBECHANGES_SMTP_URL: url, KUBECHANGES_MAIL_FROM: 'Kubechanges <kc@example.com>', KUBECHANGES_MAIL_TO: to }
}

/** Polls until `cond` holds (real time), for tests of the background loop. */
export async function waitFor (cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}
