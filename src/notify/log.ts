// Log sink: one JSON line per change (the Change itself) to stdout. The
// embedded default when nothing else is configured.

import { errors } from '../errors.js'
import type { Change } from '../model.js'
import type { Sink } from './sink.js'

export interface LogSinkOptions {
  name: string
  /** Receives one line without the trailing newline; defaults to stdout. */
  write?: (line: string) => void
}

export function createLogSink (opts: LogSinkOptions): Sink {
  const write = opts.write ?? ((line: string) => { process.stdout.write(line + '\n') })
  return {
    name: opts.name,
    type: 'log',
    async deliver (change: Change): Promise<void> {
      try {
        write(JSON.stringify(change))
      } catch (err) {
        throw errors.DELIVERY_FAILED(`log sink "${opts.name}": ${err instanceof Error ? err.message : String(err)}`)
      }
    },
    async close (): Promise<void> {}
  }
}
