import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { errors, isKubechangesError } from '../errors.js'
import type { Change } from '../model.js'
import { formatChangeLine } from '../sources/replay.js'
import type { Io } from '../cli.js'
import { SseParser } from './sse.js'

// `kubechanges tail`: GET /changes/stream, one line per change as it closes
// (replay's format, or the Change JSON with --json). A dropped connection is
// retried with capped exponential backoff and resumed with Last-Event-ID, so
// nothing is printed twice or missed while the server stays up (or comes
// back on the same store).

export interface TailDeps {
  fetch?: typeof fetch
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  random?: () => number
  signal?: AbortSignal
  /** A stream silent this long (no change, no heartbeat) is reconnected. */
  idleMs?: number
}

const FILTERS = ['namespace', 'kind', 'type', 'outcome', 'user', 'cluster'] as const
const BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000

/** Equal jitter: half fixed, half random, so clients that lost one server do not return in step. */
export function backoffMs (attempt: number, random: () => number): number {
  const cap = Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** attempt)
  return Math.round(cap / 2 + random() * cap / 2)
}

async function defaultSleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

function readToken (file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const path = file ?? env.KUBECHANGES_API_TOKEN_FILE
  if (path !== undefined && path !== '') {
    let token: string
    try {
      token = readFileSync(path, 'utf8').trim()
    } catch (e) {
      throw errors.BAD_ARGUMENT(`--token-file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
    }
    if (token === '') throw errors.BAD_ARGUMENT(`--token-file ${path}: empty`)
    return token
  }
  return env.KUBECHANGES_API_TOKEN !== undefined && env.KUBECHANGES_API_TOKEN !== '' ? env.KUBECHANGES_API_TOKEN : undefined
}

export async function runTail (argv: string[], io: Io, deps: TailDeps = {}): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'token-file': { type: 'string' },
      json: { type: 'boolean', default: false },
      namespace: { type: 'string' },
      kind: { type: 'string' },
      type: { type: 'string' },
      outcome: { type: 'string' },
      user: { type: 'string' },
      cluster: { type: 'string' }
    },
    strict: true
  })
  const base = values.url ?? io.env.KUBECHANGES_URL ?? 'http://127.0.0.1:8080'
  let url: URL
  try {
    url = new URL('/changes/stream', base.endsWith('/') ? base : base + '/')
  } catch {
    throw errors.BAD_ARGUMENT(`--url: not a URL: ${JSON.stringify(base)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw errors.BAD_ARGUMENT(`--url: expected http(s), got ${url.protocol}`)
  for (const k of FILTERS) {
    const v = values[k]
    if (v !== undefined) url.searchParams.set(k, v)
  }
  const token = readToken(values['token-file'], io.env)
  const json = values.json === true
  const doFetch = deps.fetch ?? fetch
  const sleep = deps.sleep ?? defaultSleep
  const random = deps.random ?? Math.random
  const idleMs = deps.idleMs ?? 60_000
  const stop = deps.signal
  const stopped = (): boolean => stop?.aborted === true

  let lastId: string | undefined
  let attempt = 0
  while (!stopped()) {
    let reason: string
    const conn = new AbortController()
    const onStop = (): void => { conn.abort() }
    stop?.addEventListener('abort', onStop, { once: true })
    let idle: NodeJS.Timeout | undefined
    const touch = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { conn.abort(new Error(`no data for ${idleMs / 1000} s`)) }, idleMs)
      idle.unref()
    }
    try {
      touch()
      const res = await doFetch(url, {
        signal: conn.signal,
        headers: {
          accept: 'text/event-stream',
          ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
          ...(lastId !== undefined ? { 'last-event-id': lastId } : {})
        }
      })
      if (res.status === 401) throw errors.UNAUTHORIZED(`${url.origin} wants a valid API token (--token-file)`)
      if (res.status === 400) throw errors.BAD_ARGUMENT(`${((await res.json().catch(() => ({}))) as { message?: string }).message ?? 'bad request'}`)
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`)
      if (attempt > 0) io.err(`kubechanges tail: connected to ${url.origin}${lastId !== undefined ? ', resuming' : ''}`)
      attempt = 0
      const parser = new SseParser()
      for await (const text of res.body.pipeThrough(new TextDecoderStream())) {
        touch()
        for (const ev of parser.feed(text)) {
          if (ev.event !== 'change') continue
          if (ev.id !== undefined) lastId = ev.id
          io.out(json ? ev.data : formatChangeLine(JSON.parse(ev.data) as Change))
        }
      }
      reason = 'the server ended the stream'
    } catch (e) {
      if (isKubechangesError(e)) throw e
      if (stopped()) break
      const err = conn.signal.aborted && conn.signal.reason instanceof Error ? conn.signal.reason : e as Error & { cause?: { code?: string } }
      reason = (err as { cause?: { code?: string } }).cause?.code ?? err.message
    } finally {
      clearTimeout(idle)
      stop?.removeEventListener('abort', onStop)
    }
    const delay = backoffMs(attempt++, random)
    io.err(`kubechanges tail: ${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`)
    await sleep(delay, stop)
  }
  return 0
}
