// E-mail sink: one mail per change over SMTP (nodemailer), with a plain-text
// and an HTML part and a Message-ID derived from the change id, so a retried
// send is recognisable downstream. SMTP credentials never leave this file:
// every error is rebuilt from scrubbed text as errors.DELIVERY_FAILED.

import type Nodemailer from 'nodemailer'
import type { SMTPPoolOptions } from 'nodemailer'
import { lazy } from '../lazy.js'
import { errors } from '../errors.js'
import type { Change } from '../model.js'
import type { Digest } from './digest.js'
import { changeLink, messageIdFor, renderHtml, renderSubject, renderText } from './render.js'
import { renderDigestHtml, renderDigestSubject, renderDigestText } from './render-digest.js'
import type { DeliverOptions, Sink } from './sink.js'
import { renderPart, type CompiledTemplates } from './template.js'

const nodemailer = lazy<typeof Nodemailer>('nodemailer')

export interface EmailSinkOptions {
  name: string
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…` (implicit TLS). */
  url?: string
  host?: string
  port?: number
  /** true: implicit TLS (port 465). false: plain, upgraded with STARTTLS when the server offers it. */
  secure?: boolean
  auth?: { user: string; pass: string }
  from: string
  to: string[]
  /** Pooled, reused SMTP connections. */
  pool?: boolean
  maxConnections?: number
  /** Fail unless the connection is upgraded with STARTTLS. */
  requireTLS?: boolean
  tls?: { rejectUnauthorized?: boolean; ca?: string; servername?: string }
  connectionTimeoutMs?: number
  greetingTimeoutMs?: number
  socketTimeoutMs?: number
  externalURL?: string
  /** Right-hand side of the Message-ID; defaults to the domain of `from`. */
  messageIdDomain?: string
  templates?: CompiledTemplates
}

interface Mail { id: string; subject: string; text?: string; html?: string; headers: Record<string, string> }

const DEFAULT_CONNECTION_TIMEOUT_MS = 15_000
const DEFAULT_GREETING_TIMEOUT_MS = 15_000
const DEFAULT_SOCKET_TIMEOUT_MS = 60_000

/** The domain of an address such as `Kubechanges <kc@example.com>`, or undefined. */
export function addressDomain (address: string): string | undefined {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(address.trim())
  return m ? m[1] : undefined
}

/** Every form in which the credentials could show up in an error text. */
function secretForms (opts: EmailSinkOptions): string[] {
  const out = new Set<string>()
  const add = (s: string | undefined): void => {
    if (!s || s.length < 2) return
    out.add(s)
    try { out.add(decodeURIComponent(s)) } catch { /* not percent-encoded */ }
    out.add(encodeURIComponent(s))
    out.add(Buffer.from(s, 'utf8').toString('base64'))
  }
  let user: string | undefined
  let pass: string | undefined
  if (opts.url) {
    try {
      const u = new URL(opts.url)
      add(u.password)
      if (u.password) { user = safeDecode(u.username); pass = safeDecode(u.password) }
    } catch { /* validated by config; nothing to extract */ }
  }
  if (opts.auth) {
    add(opts.auth.pass)
    user = opts.auth.user
    pass = opts.auth.pass
  }
  if (pass !== undefined) {
    // AUTH PLAIN carries base64("\0user\0pass").
    out.add(Buffer.from(`\u0000${user ?? ''}\u0000${pass}`, 'utf8').toString('base64'))
    if (user) out.add(Buffer.from(`${user}\u0000${user}\u0000${pass}`, 'utf8').toString('base64'))
  }
  // Longest first, so a form that contains another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length)
}

function headerValue (s: string): string {
  // eslint-disable-next-line no-control-regex
  return String(s).replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 200)
}

function safeDecode (s: string): string {
  try { return decodeURIComponent(s) } catch { return s }
}

/** Removes credentials from a text: known secrets and any `scheme://user:pass@` userinfo. */
export function scrubSecrets (text: string, secrets: readonly string[]): string {
  let s = text
  for (const secret of secrets) s = s.split(secret).join('***')
  return s.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@')
}

interface SmtpErrorLike { message?: unknown; code?: unknown; responseCode?: unknown; command?: unknown }

export function createEmailSink (opts: EmailSinkOptions): Sink {
  if (!opts.from) throw errors.BAD_CONFIG(`email sink "${opts.name}": from is required`)
  if (!opts.url && !opts.host) throw errors.BAD_CONFIG(`email sink "${opts.name}": url or host is required`)
  const secrets = secretForms(opts)
  const domain = opts.messageIdDomain ?? addressDomain(opts.from) ?? 'kubechanges.local'

  const transportOptions: SMTPPoolOptions = {
    connectionTimeout: opts.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    greetingTimeout: opts.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
    socketTimeout: opts.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    socketCloseTimeout: 1000,
    logger: false,
    debug: false
  }
  if (opts.url !== undefined) transportOptions.url = opts.url
  if (opts.host !== undefined) transportOptions.host = opts.host
  if (opts.port !== undefined) transportOptions.port = opts.port
  if (opts.secure !== undefined) transportOptions.secure = opts.secure
  if (opts.auth !== undefined) transportOptions.auth = { user: opts.auth.user, pass: opts.auth.pass }
  if (opts.requireTLS !== undefined) transportOptions.requireTLS = opts.requireTLS
  if (opts.tls !== undefined) {
    transportOptions.tls = {}
    if (opts.tls.rejectUnauthorized !== undefined) transportOptions.tls.rejectUnauthorized = opts.tls.rejectUnauthorized
    if (opts.tls.ca !== undefined) transportOptions.tls.ca = opts.tls.ca
    if (opts.tls.servername !== undefined) transportOptions.tls.servername = opts.tls.servername
  }
  if (opts.pool) {
    transportOptions.pool = true
    if (opts.maxConnections !== undefined) transportOptions.maxConnections = opts.maxConnections
  }
  const transport = nodemailer().createTransport(transportOptions)
  // Transport-level errors (e.g. OAuth2 refresh) also fail the send in progress; never let them crash the process.
  transport.on('error', () => {})
  let closed = false

  function failure (err: unknown): Error {
    const e = (err ?? {}) as SmtpErrorLike
    const raw = typeof e.message === 'string' ? e.message : String(err)
    const bits: string[] = []
    if (typeof e.code === 'string') bits.push(`code ${e.code}`)
    if (typeof e.responseCode === 'number') bits.push(`SMTP ${e.responseCode}`)
    if (typeof e.command === 'string' && /^[A-Z ]+$/.test(e.command.split(' ')[0])) bits.push(`command ${e.command.split(' ')[0]}`)
    const msg = `email sink "${opts.name}": ${raw}${bits.length ? ` (${bits.join(', ')})` : ''}`
    // No `cause`: the raw nodemailer error may carry the URL or the AUTH exchange.
    return errors.DELIVERY_FAILED(scrubSecrets(msg, secrets))
  }

  async function send (mail: Mail, dopts?: DeliverOptions): Promise<void> {
    if (closed) throw errors.DELIVERY_FAILED(`email sink "${opts.name}": closed`)
    const to = dopts?.to && dopts.to.length > 0 ? dopts.to : opts.to
    if (to.length === 0) throw errors.DELIVERY_FAILED(`email sink "${opts.name}": no recipients`)
    try {
      await transport.sendMail({
        from: opts.from,
        to,
        subject: mail.subject,
        ...(mail.text !== undefined ? { text: mail.text } : {}),
        ...(mail.html !== undefined ? { html: mail.html } : {}),
        messageId: messageIdFor({ id: mail.id }, domain),
        headers: {
          'Auto-Submitted': 'auto-generated',
          'X-Kubechanges-Change-Id': headerValue(mail.id),
          ...mail.headers
        }
      })
    } catch (err) {
      throw failure(err)
    }
  }

  return {
    name: opts.name,
    type: 'email',
    async deliver (change: Change, dopts?: DeliverOptions): Promise<void> {
      const link = changeLink(opts.externalURL, change.id)
      const scope = { change, cluster: change.cluster ?? '', link: link ?? '' }
      const subject = renderPart(opts.templates, 'subject', scope) ?? renderSubject(change)
      const text = renderPart(opts.templates, 'text', scope)
      const html = renderPart(opts.templates, 'html', scope)
      // A templated body replaces both built-in parts: only what the template defines is sent.
      const own = text === undefined && html === undefined
      await send({
        id: change.id,
        subject,
        ...(own ? { text: renderText(change, link), html: renderHtml(change, link) } : {}),
        ...(text !== undefined ? { text } : {}),
        ...(html !== undefined ? { html } : {}),
        headers: {
          'X-Kubechanges-Type': headerValue(change.type),
          'X-Kubechanges-Outcome': headerValue(change.outcome),
          'X-Kubechanges-Namespace': headerValue(change.object.namespace || '-'),
          ...(change.cluster !== undefined ? { 'X-Kubechanges-Cluster': headerValue(change.cluster) } : {})
        }
      }, dopts)
    },
    async deliverDigest (digest: Digest, dopts?: DeliverOptions): Promise<void> {
      await send({
        id: digest.id,
        subject: renderDigestSubject(digest),
        text: renderDigestText(digest, opts.externalURL),
        html: renderDigestHtml(digest, opts.externalURL),
        headers: {
          'X-Kubechanges-Type': headerValue(digest.type),
          'X-Kubechanges-Digest-Count': String(digest.count),
          ...(digest.cluster !== undefined ? { 'X-Kubechanges-Cluster': headerValue(digest.cluster) } : {})
        }
      }, dopts)
    },
    async close (): Promise<void> {
      if (closed) return
      closed = true
      transport.close()
    }
  }
}
