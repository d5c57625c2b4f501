// Log sink: one JSON line per change (the Change itself) to stdout. The
// embedded default when nothing else is configured. A digest is one line
// too: the Digest document (`"kind":"Digest"`).

import { errors } from '../errors.js'
import type { Change } from '../model.js'
import type { Digest } from './digest.js'
import type { Sink } from './sink.js'

export interface LogSinkOptions {
  name: string
  /** Receives one line without the trailing newline; defaults to stdout. */
  write?: (line: string) => void
}

export function createLogSink (opts: LogSinkOptions): Sink {
  const write = opts.write ?? ((line: string) => { process.stdout.write(line + '\n') })
  const line = (doc: unknown): void => {
    try {
      write(JSON.stringify(doc))
    } catch (err) {
      throw errors.DELIVERY_FAILED(`log sink "${opts.name}": ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  return {
    name: opts.name,
    type: 'log',
    async deliver (change: Change): Promise<void> {
      line(change)
    },
    async deliverDigest (digest: Digest): Promise<void> {
      line(digest)
    },
    async close (): Promise<void> {}
  }
}
