// Certificates are rotated underneath a running server (cert-manager, a
// re-run of `kubechanges certs`, a new Secret): reload them without a restart
// and without ever dropping to a broken context.

import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createSecureContext, type SecureContextOptions, type Server } from 'node:tls'
import { errors } from '../errors.js'

export interface TlsMaterial {
  cert: Buffer
  key: Buffer
  ca?: Buffer
}

export interface TlsFiles {
  cert: string
  key: string
  ca?: string
}

export interface WatchTlsOptions {
  /** poll period; default 10 s (kubelet itself refreshes Secret volumes only about once a minute) */
  intervalMs?: number
  onReload?: () => void
  onError?: (e: Error) => void
  /**
   * setSecureContext() replaces the whole context, so settings given to
   * createServer (minVersion, ciphers, ...) are lost unless repeated here.
   */
  contextOptions?: Omit<SecureContextOptions, 'cert' | 'key' | 'ca'>
}

const DEFAULT_INTERVAL_MS = 10_000

function readOne (path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (e) {
    throw errors.TLS_LOAD_FAILED(`cannot read TLS ${what} ${path}: ${(e as Error).message}`, { cause: e })
  }
}

// Building a context is what OpenSSL would do on the next handshake, so it
// catches everything that matters: bad PEM, a truncated file, a key that
// does not belong to the certificate.
function checkMaterial (m: TlsMaterial, files: TlsFiles, extra?: SecureContextOptions): void {
  try {
    createSecureContext({ ...extra, ...m })
  } catch (e) {
    const names = [files.cert, files.key, files.ca].filter(Boolean).join(', ')
    throw errors.TLS_LOAD_FAILED(`invalid TLS material in ${names}: ${(e as Error).message}`, { cause: e })
  }
}

export function loadTls (certFile: string, keyFile: string, caFile?: string): TlsMaterial {
  const m: TlsMaterial = {
    cert: readOne(certFile, 'certificate'),
    key: readOne(keyFile, 'private key')
  }
  if (caFile !== undefined) m.ca = readOne(caFile, 'CA bundle')
  checkMaterial(m, { cert: certFile, key: keyFile, ca: caFile })
  return m
}

type Signature = string

// stat() follows symlinks, so a Kubernetes Secret volume's `..data` swap
// shows up as a different inode even when mtime and size happen to match.
function signatureOf (s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): Signature {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
}

function statSignatureSync (path: string): Signature | undefined {
  try {
    return signatureOf(statSync(path, { bigint: true }))
  } catch {
    return undefined
  }
}

async function statSignature (path: string): Promise<Signature | undefined> {
  try {
    return signatureOf(await stat(path, { bigint: true }))
  } catch {
    return undefined
  }
}

function digest (m: { cert: Buffer; key: Buffer; ca?: Buffer }): string {
  const h = createHash('sha256')
  for (const b of [m.cert, m.key, m.ca]) {
    h.update(String(b?.length ?? -1)).update(':')
    if (b !== undefined) h.update(b)
  }
  return h.digest('hex')
}

/**
 * Polls files and swaps the server's secure context when they change into a
 * valid cert/key pair. A bad or half-written pair is reported through
 * onError and the current context stays. Returns a stop function.
 */
export function watchTls (server: Server, files: TlsFiles, opts: WatchTlsOptions = {}): () => void {
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw errors.BAD_ARGUMENT(`intervalMs must be a positive number, got ${String(intervalMs)}`)
  const paths = [files.cert, files.key, ...(files.ca !== undefined ? [files.ca] : [])]

  // The baseline is what is on disk now: the caller loaded the server from
  // these files just before, so only later changes are news.
  let seen = paths.map(statSignatureSync).join('|')
  let applied: string | undefined
  try {
    applied = digest({
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      ca: files.ca !== undefined ? readFileSync(files.ca) : undefined
    })
  } catch {
    applied = undefined
  }

  let stopped = false
  let timer: NodeJS.Timeout | undefined

  const report = (e: unknown): void => {
    if (opts.onError === undefined) return
    try { opts.onError(e instanceof Error ? e : new Error(String(e))) } catch { /* a faulty callback must not stop the watch */ }
  }

  const tick = async (): Promise<void> => {
    const now = (await Promise.all(paths.map(statSignature))).join('|')
    // Unchanged files, or a failed attempt on exactly these files: retrying
    // would only repeat the same error every tick.
    if (now === seen) return
    seen = now
    let m: TlsMaterial
    try {
      m = {
        cert: readOne(files.cert, 'certificate'),
        key: readOne(files.key, 'private key')
      }
      if (files.ca !== undefined) m.ca = readOne(files.ca, 'CA bundle')
    } catch (e) {
      report(e)
      return
    }
    const d = digest(m)
    // touch, or a Secret re-sync with the same data: nothing to do.
    if (d === applied) return
    try {
      checkMaterial(m, files, opts.contextOptions)
    } catch (e) {
      report(e)
      return
    }
    if (stopped) return
    try {
      server.setSecureContext({ ...opts.contextOptions, ...m })
    } catch (e) {
      report(errors.TLS_LOAD_FAILED(`cannot apply TLS material from ${paths.join(', ')}: ${(e as Error).message}`, { cause: e }))
      return
    }
    applied = d
    try { opts.onReload?.() } catch { /* see report() */ }
  }

  // A timeout chain rather than setInterval: ticks never overlap, even when
  // the filesystem is slow.
  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(() => {
      tick().catch(report).finally(schedule)
    }, intervalMs)
    // The watch alone must not keep the process alive.
    timer.unref()
  }
  schedule()

  return () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
  }
}
