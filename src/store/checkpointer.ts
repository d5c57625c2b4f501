import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

// A WAL checkpoint copies the log back into the database file and fsyncs it:
// several ms every ~1,000 pages, charged to whichever commit crossed the
// threshold, so a POST /audit waited on a disk write it does not need (0.7 ms
// per light batch on average, profiled). SQLite lets any connection
// checkpoint: a worker thread with its own connection does it every second,
// and the serving thread's own automatic checkpoint stays only as a safety net
// (AUTOCHECKPOINT_PAGES) should the worker fall behind or fail.

/** The serving connection's own threshold while the worker runs (pages of 4 KiB: 40 MiB). */
export const AUTOCHECKPOINT_PAGES = 10_000

export interface CheckpointResult { busy: number, log: number, checkpointed: number }

// Plain CommonJS, so the worker runs the same under tsx, ts-node and dist/.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
db.pragma('busy_timeout = 100')
parentPort.on('message', (id) => {
  if (id === 'stop') { db.close(); parentPort.close(); return }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)')
    parentPort.postMessage({ id, result: r })
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message) })
  }
})
`

export class Checkpointer {
  readonly #worker: Worker
  readonly #timer: NodeJS.Timeout
  readonly #waiting = new Map<number, (r: CheckpointResult | Error) => void>()
  #seq = 0
  #stopped: Promise<void> | undefined

  constructor (path: string, opts: { everyMs?: number, onError?: (err: Error) => void } = {}) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    this.#worker = new Worker(WORKER, { eval: true, workerData: { path, driver } })
    // Never what keeps the process alive.
    this.#worker.unref()
    this.#worker.on('message', (m: { id: number, result?: { busy: number, log: number, checkpointed: number }, error?: string }) => {
      const done = this.#waiting.get(m.id)
      this.#waiting.delete(m.id)
      const r = m.error !== undefined ? new Error(m.error) : m.result!
      if (r instanceof Error) opts.onError?.(r)
      done?.(r)
    })
    this.#worker.on('error', err => { opts.onError?.(err) })
    this.#timer = setInterval(() => { void this.run() }, opts.everyMs ?? 1000).unref()
  }

  /** One checkpoint now: what the worker's PASSIVE checkpoint reports, or its error. */
  async run (): Promise<CheckpointResult | Error> {
    if (this.#stopped !== undefined) return new Error('checkpointer stopped')
    const id = ++this.#seq
    return await new Promise(resolve => {
      this.#waiting.set(id, resolve)
      this.#worker.postMessage(id)
    })
  }

  /** Closes the worker's connection and ends the thread. */
  async stop (): Promise<void> {
    if (this.#stopped === undefined) {
      clearInterval(this.#timer)
      this.#stopped = new Promise(resolve => { this.#worker.once('exit', () => { resolve() }) })
      // Held until it has closed its connection (unref'd, the process could end first).
      this.#worker.ref()
      this.#worker.postMessage('stop')
      for (const [, done] of this.#waiting) done(new Error('checkpointer stopped'))
      this.#waiting.clear()
    }
    await this.#stopped
  }
}
