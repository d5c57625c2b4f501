// Log sink: one JSON line per change (the Change itself) to stdout. The
// embedded default when nothing else is configured. A digest is one line
// too: the Digest document (`"kind":"Digest"`).

import { errors } from '../errors.js'
import type { Change } from '../model.js'
import type { Digest } from './digest.js'
import type { Sink } from './sink.js'

export interface LogSinkOptions {
  name: string
  /** Receives one line without the trailing newline; defaults to stdout. Delivered once it returns (or its promise resolves). */
  write?: (line: string) => void | Promise<void>
}

/**
 * A line to stdout, resolved once it has left the process. A write to a pipe
 * whose reader is behind is queued inside the process (Node writes pipes
 * synchronously only while the pipe has room): marking it delivered then
 * would lose it to a SIGKILL, though the outbox says delivered.
 */
function toStdout (line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(line + '\n', err => { if (err === undefined || err === null) resolve(); else reject(err) })
  })
}

export function createLogSink (opts: LogSinkOptions): Sink {
  const write = opts.write ?? toStdout
  const line = async (doc: unknown): Promise<void> => {
    try {
      await write(JSON.stringify(doc))
    } catch (err) {
      throw errors.DELIVERY_FAILED(`log sink "${opts.name}": ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  return {
    name: opts.name,
    type: 'log',
    async deliver (change: Change): Promise<void> {
      await line(change)
    },
    async deliverDigest (digest: Digest): Promise<void> {
      await line(digest)
    },
    async close (): Promise<void> {}
  }
}
