import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { loadConfig } from '../config.js'
import { createMetrics } from '../metrics.js'
import { Pipeline } from '../pipeline.js'
import type { Change } from '../model.js'
import { errors } from '../errors.js'
import type { Io } from '../cli.js'

// `kubechanges replay FILE`: an audit log (JSON lines, as --audit-log-path
// writes them, or one EventList JSON document) through the very same
// pipeline, on the events' own clock. At the end of input every quiet period
// settles; what is still in progress is reported with outcome `open`.

export function formatChangeLine (c: Change): string {
  return `${c.endedAt}  ${c.type.padEnd(9)} ${c.outcome.padEnd(9)} ${c.summary}`
}

/** Tick at most once per second of event time: each tick scans the window. */
const TICK_EVERY_MS = 1000

export async function replayLines (lines: AsyncIterable<string> | Iterable<string>, pipeline: Pipeline): Promise<{ lines: number, malformed: number }> {
  let lastTick = -Infinity
  let n = 0
  let malformed = 0
  for await (const line of lines) {
    n++
    if (line.trim() === '') continue
    let body: unknown
    try {
      body = JSON.parse(line)
    } catch {
      malformed++
      continue
    }
    const r = pipeline.ingestAudit(body)
    if (r instanceof Error) malformed++
    else malformed += r.malformed
    const t = pipeline.correlator.now
    if (t - lastTick >= TICK_EVERY_MS) {
      pipeline.tick(t)
      lastTick = t
    }
  }
  pipeline.flush()
  return { lines: n, malformed }
}

function head (file: string): string {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(4096)
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

export async function runReplay (argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, config: { type: 'string' } },
    allowPositionals: true,
    strict: true
  })
  if (positionals.length !== 1) throw errors.BAD_ARGUMENT('replay takes exactly one FILE (an audit log of JSON lines, or an EventList JSON file)')
  const file = positionals[0]!
  try {
    statSync(file)
  } catch (e) {
    throw errors.BAD_ARGUMENT(`replay: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  const config = loadConfig(values.config !== undefined ? { config: values.config } : {}, { ...io.env, KUBECHANGES_CONFIG: values.config ?? io.env.KUBECHANGES_CONFIG })
  const json = values.json === true
  let count = 0
  const pipeline = new Pipeline({
    quietMs: config.quietPeriodSeconds * 1000,
    ttlMs: config.window.ttlSeconds * 1000,
    maxObjects: config.window.maxObjects,
    metrics: createMetrics({ defaults: false }),
    // Warnings go to stderr: with --json, stdout carries changes and nothing else.
    log: pino({ level: 'warn' }, pino.destination(2)),
    onChange: c => {
      count++
      io.out(json ? JSON.stringify(c) : formatChangeLine(c))
    },
    ignoreNamespaces: config.ignore.namespaces,
    ignoreKinds: config.ignore.kinds
  })
  const first = head(file).trimStart()
  let res: { lines: number, malformed: number }
  if (first.startsWith('{') && /"kind"\s*:\s*"EventList"/.test(first)) {
    // One EventList document (what the webhook backend posts, saved to a file).
    res = await replayLines([readFileSync(file, 'utf8').replace(/\n/g, ' ')], pipeline)
  } else {
    res = await replayLines(createInterface({ input: createReadStream(file), crlfDelay: Infinity }), pipeline)
  }
  if (!json) io.err(`${count} changes from ${res.lines} lines${res.malformed > 0 ? `, ${res.malformed} malformed (skipped)` : ''}`)
  else if (res.malformed > 0) io.err(`${res.malformed} malformed events skipped`)
  return 0
}
