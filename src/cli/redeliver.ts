// `kubechanges redeliver ID [--sink NAME] [--url URL] [--token-file F]`: asks a
// running kubechanges to retry a change's dead deliveries (POST
// /changes/:id/redeliver) and prints what each delivery's state is now.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Io } from '../cli.js'
import { errors } from '../errors.js'

export const DEFAULT_URL = 'http://127.0.0.1:8080'

interface Delivery { sink: string; state: string; attempts: number; lastError: string | null; digest?: { id: string; state: string } }

function token (file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const f = file ?? (env.KUBECHANGES_API_TOKEN_FILE || undefined)
  if (f === undefined) return env.KUBECHANGES_API_TOKEN || undefined
  try {
    const t = readFileSync(f, 'utf8').trim()
    if (t === '') throw errors.BAD_ARGUMENT(`--token-file ${f}: empty`)
    return t
  } catch (e) {
    if ((e as { code?: string }).code === errors.BAD_ARGUMENT.code) throw e
    throw errors.BAD_ARGUMENT(`--token-file ${f}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
}

export async function runRedeliver (argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, 'token-file': { type: 'string' }, sink: { type: 'string' } },
    allowPositionals: true,
    strict: true
  })
  if (positionals.length !== 1 || positionals[0] === '') throw errors.BAD_ARGUMENT('redeliver takes exactly one change ID')
  const id = positionals[0]
  const base = values.url ?? (io.env.KUBECHANGES_URL || DEFAULT_URL)
  let url: URL
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/changes/${encodeURIComponent(id)}/redeliver`)
  } catch {
    throw errors.BAD_ARGUMENT('--url: not a URL')
  }
  if (values.sink !== undefined) url.searchParams.set('sink', values.sink)
  const t = token(values['token-file'], io.env)
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', headers: t !== undefined ? { authorization: `Bearer ${t}` } : {}, signal: AbortSignal.timeout(30_000) })
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code
    io.err(`kubechanges: cannot reach ${url.origin}${code !== undefined ? ` (${code})` : ''}`)
    return 1
  }
  const body = await res.json().catch(() => ({})) as { code?: string; message?: string; redelivered?: number; deliveries?: Delivery[] }
  if (!res.ok) {
    io.err(`kubechanges: ${body.code ?? `HTTP ${res.status}`}: ${body.message ?? res.statusText}`)
    return 1
  }
  const n = body.redelivered ?? 0
  io.out(n === 0 ? `${id}: no dead deliveries to retry` : `${id}: ${n} ${n === 1 ? 'delivery' : 'deliveries'} queued again`)
  for (const d of body.deliveries ?? []) {
    const digest = d.digest !== undefined ? ` (in digest ${d.digest.id}: ${d.digest.state})` : ''
    io.out(`  ${d.sink}: ${d.state}${digest}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${d.lastError ? `, last error: ${d.lastError}` : ''}`)
  }
  return 0
}
